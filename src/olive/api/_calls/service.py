"""Reading call records: filtered pages, one call, or every match as CSV (streamed)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from olive.api._calls.schemas import CSV_COLUMNS, CallOut
from olive.api._deps import Paging
from olive.api._schemas import get_or_404
from olive.store import Call, CallFilter, CallRepository, Page, transaction

CHUNK = 1000


def list_calls(session: Session, paging: Paging, filters: CallFilter) -> Page[Call]:
    return CallRepository(session).search(filters, limit=paging.limit, offset=paging.offset)


def get(session: Session, call_id: str) -> Call:
    return get_or_404(CallRepository(session), call_id)


def csv_chunks(sessions: sessionmaker[Session], filters: CallFilter) -> Iterator[str]:
    """The header, then every matching call oldest first, a short transaction per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    after: tuple[datetime, str] | None = None
    while True:
        with transaction(sessions) as session:
            calls = CallRepository(session).chunk(filters, after=after, limit=CHUNK)
        for call in calls:
            row = CallOut.model_validate(call).model_dump(mode="json")
            writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(calls) < CHUNK:
            return
        after = (calls[-1].originated_at, calls[-1].id)


__all__ = ["CallFilter", "csv_chunks", "get", "list_calls"]
