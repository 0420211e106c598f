"""/calls endpoints: thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BeforeValidator

from olive.api._admission import bulk_chunks
from olive.api._calls import service
from olive.api._calls.schemas import CallDetail, CallOut, Outcome
from olive.api._deps import Context, DbSession, PagingDep, Viewer
from olive.api._errors import responses
from olive.api._schemas import ID_PATTERN, Page, path_id

router = APIRouter(tags=["calls"], responses=responses(401, 403, 422))


def _iso_only(value: object) -> object:
    """Times are ISO 8601 strings with a zone; a bare number is refused, not read as epoch seconds."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("expected an ISO 8601 date and time with a zone, e.g. 2026-03-02T14:00:00Z")
    return value


Time = Annotated[AwareDatetime, BeforeValidator(_iso_only)]

CallId = Annotated[str, path_id("call")]


async def call_filter(
    campaign_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    contact_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    outcome: Annotated[Outcome | None, Query()] = None,
    agent_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    since: Annotated[Time | None, Query(description="originated at or after (ISO 8601 with zone)")] = None,
    until: Annotated[Time | None, Query(description="originated before (ISO 8601 with zone)")] = None,
) -> service.CallFilter:
    return service.CallFilter(campaign_id, contact_id, None if outcome is None else outcome.value, agent_id, since, until)


Filter = Annotated[service.CallFilter, Depends(call_filter)]


@router.get("/calls", dependencies=[Viewer], summary="List call records", description="Oldest first.")
def list_calls(session: DbSession, paging: PagingDep, filters: Filter) -> Page[CallOut]:
    page = service.list_calls(session, paging, filters)
    return Page[CallOut].build(page, [CallOut.model_validate(c) for c in page.items])


@router.get(
    "/calls.csv",
    dependencies=[Viewer],
    summary="Call records as CSV",
    description="Every call matching the filters, oldest first, one row per attempt; the columns are "
    "those of the JSON records. Times are ISO 8601 in UTC.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV, with a header row."}},
)
def calls_csv(context: Context, filters: Filter) -> StreamingResponse:
    return StreamingResponse(
        bulk_chunks(context.admission, service.csv_chunks(context.sessions, filters)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
    )


@router.get("/calls/{call_id}", dependencies=[Viewer], summary="Read a call record", responses=responses(404))
def read_call(call_id: CallId, session: DbSession) -> CallDetail:
    return CallDetail.model_validate(service.get(session, call_id))


__all__ = ["router"]
