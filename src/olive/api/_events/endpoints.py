"""/events endpoint: a server-sent event stream."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from olive.api._deps import ApiContext, Context, Viewer
from olive.api._errors import json_responses
from olive.api._events import service
from olive.api._schemas import ID_PATTERN, get_or_404
from olive.store import AgentRepository, CampaignRepository, transaction

router = APIRouter(tags=["events"])

Kind = Literal["call", "agent", "campaign"]


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


@router.get(
    "/events",
    dependencies=[Viewer],
    summary="Live events (server-sent events)",
    description="Call, agent and campaign events as they happen, as `text/event-stream`. Each message has "
    "an `id`, an `event` (call, agent or campaign) and `data`: a JSON object with `id`, `kind`, `at`, "
    "`campaign_id` and the event's `data`. Filtered by campaign, the stream also carries that campaign's "
    "agents' events. Send `Last-Event-ID` to replay recent events after a reconnect.",
    response_class=EventStream,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "An event stream."},
        **json_responses(401, 403, 404, 422),
    },
)
async def events(
    context: Context,
    campaign_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="only this campaign's events")] = None,
    kind: Annotated[list[Kind] | None, Query(description="only these kinds (repeat the parameter)")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000, description="end after this many events")] = None,
    timeout_s: Annotated[float | None, Query(gt=0, le=86_400, description="end after this many seconds")] = None,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**53, description="replay events after this id")] = None,
) -> EventStream:
    agent_ids = await run_in_threadpool(_campaign_agents, context, campaign_id)
    filters = service.EventFilter(campaign_id, service.kinds_of(kind), agent_ids)
    stream = service.stream(context, filters, last_event_id=last_event_id, limit=limit, timeout_s=timeout_s)
    return EventStream(stream, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _campaign_agents(context: ApiContext, campaign_id: str | None) -> frozenset[str]:
    if campaign_id is None:
        return frozenset()
    with transaction(context.sessions) as session:
        get_or_404(CampaignRepository(session), campaign_id)
        return frozenset(a.id for a in AgentRepository(session).for_campaign(campaign_id))


__all__ = ["router"]
