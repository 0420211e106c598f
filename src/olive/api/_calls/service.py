"""Reading call records: filtered pages, one call, or every match as CSV (streamed)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from olive.api._calls.schemas import CSV_COLUMNS, CallOut
from olive.api._deps import Paging
from olive.api._schemas import get_or_404
from olive.store import Call, CallRepository, Page, transaction

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class CallFilter:
    campaign_id: str | None = None
    contact_id: str | None = None
    outcome: str | None = None
    agent_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        for column, value in (
            (Call.campaign_id, self.campaign_id),
            (Call.contact_id, self.contact_id),
            (Call.outcome, self.outcome),
            (Call.agent_id, self.agent_id),
        ):
            if value is not None:
                out.append(column == value)
        if self.since is not None:
            out.append(Call.originated_at >= self.since)
        if self.until is not None:
            out.append(Call.originated_at < self.until)
        return out


def list_calls(session: Session, paging: Paging, filters: CallFilter) -> Page[Call]:
    return CallRepository(session).list(
        *filters.where(), order_by=(Call.originated_at,), limit=paging.limit, offset=paging.offset
    )


def get(session: Session, call_id: str) -> Call:
    return get_or_404(CallRepository(session), call_id)


def csv_chunks(sessions: sessionmaker[Session], filters: CallFilter) -> Iterator[str]:
    """The header, then every matching call oldest first, a short transaction per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    after: tuple[datetime, str] | None = None
    while True:
        statement = select(Call).where(*filters.where()).order_by(Call.originated_at, Call.id).limit(CHUNK)
        if after is not None:
            at, id = after
            statement = statement.where(or_(Call.originated_at > at, and_(Call.originated_at == at, Call.id > id)))
        with transaction(sessions) as session:
            calls = list(session.scalars(statement))
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
