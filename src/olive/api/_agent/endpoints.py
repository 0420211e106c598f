"""The agent's own endpoints, ``/agent/...``, reached with an agent's session token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status
from starlette.concurrency import run_in_threadpool

from olive.api._agent import control, service
from olive.api._agent.schemas import (
    AgentDisposition,
    AgentPause,
    AgentSelf,
    MyCallback,
    PreviewDialed,
    PreviewOut,
    PreviewSkip,
    ScreenPop,
    SessionOut,
    SignIn,
)
from olive.api._agent_auth import Me
from olive.api._agents.schemas import AgentOut
from olive.api._deps import Context, DbSession, EngineDep
from olive.api._dispositions.schemas import DispositionOut
from olive.api._errors import Unauthorized, json_responses, responses
from olive.api._events import service as events
from olive.api._events.endpoints import EventStream
from olive.api._schemas import path_id
from olive.engine import BusEvent
from olive.store import transaction

router = APIRouter(prefix="/agent", tags=["agent"], responses=responses(401, 403, 422))

CallId = Annotated[str, path_id("call")]


@router.post(
    "/session",
    status_code=status.HTTP_201_CREATED,
    summary="Sign in as an agent",
    description="With the agent's name and the password an admin issued. The token reaches only `/agent/...`. "
    "Many wrong names or passwords from one address within a minute get 429 with `Retry-After`.",
    responses=responses(401, 422, 429),
)
def sign_in(body: SignIn, request: Request, context: Context, session: DbSession) -> SessionOut:
    address = request.client.host if request.client else "unknown"
    context.sign_in_throttle.check(address)  # a flood: 429 before the password is hashed
    try:
        return service.sign_in(session, body)
    except Unauthorized:
        context.sign_in_throttle.failed(address)
        raise


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out (this session)")
def sign_out(me: Me, session: DbSession) -> None:
    service.sign_out(session, me)


@router.get("/me", summary="The signed-in agent: state, campaigns, pause reasons, codes, the call on screen")
def read_self(me: Me, session: DbSession) -> AgentSelf:
    return service.read_self(session, me)


@router.post(
    "/ready",
    summary="Go ready",
    description="Logs in (QueueAdd) or unpauses (QueuePause Paused=false). In wrap-up, ends it now: the last "
    "call must be disposed (409 otherwise); the agent leaves the queues and comes back (QueueRemove, QueueAdd), "
    "which ends Asterisk's `wrapuptime` too.",
    responses=responses(409),
)
async def ready(me: Me, context: Context) -> AgentOut:
    return await service.go_ready(context, me)


@router.post("/pause", summary="Pause with a reason", description="One of the agent's campaigns' pause reasons (QueuePause).", responses=responses(409))
async def pause(me: Me, body: AgentPause, context: Context) -> AgentOut:
    return await service.pause(context, me, body.reason)


@router.post("/logout", summary="Leave the queues", description="QueueRemove; 409 while on a call.", responses=responses(409))
async def log_out(me: Me, context: Context) -> AgentOut:
    return await service.log_out(context, me)


@router.get(
    "/preview",
    summary="Preview mode: the contact on the agent's screen",
    description="In a campaign whose plan's `dial_mode` is `preview`, olive puts the next due contact on each ready "
    "agent's screen (`preview` null: none now). The agent dials it (`POST /agent/preview/dial`) or skips it "
    "(`POST /agent/preview/skip`); unattended past `expires_at`, the plan's `preview_timeout_action` applies.",
)
def read_preview(me: Me, session: DbSession) -> PreviewOut:
    return control.read_preview(session, me)


@router.post(
    "/preview/dial",
    summary="Preview mode: dial the contact on the screen",
    description="Checks the contact again (calling hours, do-not-call, ...), then calls the customer; the answered "
    "call is put through to this agent alone. 409 with the reason when there is nothing to dial, the agent is not "
    "ready, or the rules say no now (the contact then leaves the screen).",
    responses=responses(409),
)
async def dial_preview(me: Me, context: Context) -> PreviewDialed:
    return await control.dial(context, me)


@router.post(
    "/preview/skip",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Preview mode: skip the contact on the screen",
    description="With a reason (kept with the preview). The contact is offered again an hour later; the next one "
    "comes at once. 409 when there is nothing to skip.",
    responses=responses(409),
)
async def skip_preview(me: Me, body: PreviewSkip, context: Context) -> None:
    await control.skip(context, me, body.reason)


@router.get(
    "/calls/{call_id}",
    summary="The contact on the agent's call (screen pop)",
    description="Only the agent's own call, while on it or until they dispose it; any other call is 404.",
    responses=responses(404),
)
def screen_pop(me: Me, call_id: CallId, session: DbSession) -> ScreenPop:
    return service.screen_pop(session, me, call_id)


@router.get(
    "/callbacks",
    summary="The agent's own scheduled callbacks",
    description="Booked *for me* on a disposition, or given to the agent by a supervisor; earliest due first. "
    "When due each is dialed once its owner is ready, and connected to that agent alone (see docs/agents.md).",
)
def my_callbacks(me: Me, session: DbSession) -> list[MyCallback]:
    return service.my_callbacks(session, me)


@router.post(
    "/calls/{call_id}/disposition",
    summary="Dispose the agent's call",
    description="As `POST /calls/{id}/disposition`: the code's flags drive retries, callbacks and do-not-call.",
    responses=responses(404, 409),
)
def dispose(me: Me, call_id: CallId, body: AgentDisposition, session: DbSession, engine: EngineDep) -> DispositionOut:
    return service.dispose(session, me, call_id, body, engine.clock.now())


@dataclass(frozen=True, slots=True)
class AgentFilter(events.EventFilter):
    """The agent's own events: their state changes and the calls offered or connected to them."""

    agent_id: str = ""
    names: frozenset[str] = frozenset()

    def matches(self, event: BusEvent) -> bool:
        if event.kind == "agent":
            return event.data.get("agent_id") == self.agent_id
        return event.kind == "call" and event.data.get("agent") in self.names


@router.get(
    "/events",
    summary="The agent's live events (server-sent events)",
    description="As `GET /events`, only the agent's own state changes and calls. `signed_out` in an agent "
    "event means the session was ended by an admin.",
    response_class=EventStream,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "An event stream."},
        **json_responses(401, 403, 422),
    },
)
async def agent_events(
    me: Me,
    context: Context,
    timeout_s: Annotated[float | None, Query(gt=0, le=86_400, description="end after this many seconds")] = None,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**53, description="replay events after this id")] = None,
) -> EventStream:
    def names() -> frozenset[str]:
        from olive.store import Agent

        with transaction(context.sessions) as session:
            agent = session.get(Agent, me.agent_id)
            return frozenset() if agent is None else frozenset({agent.name, agent.interface})

    filters = AgentFilter(None, frozenset(), frozenset(), me.agent_id, await run_in_threadpool(names))
    stream = events.stream(context, filters, last_event_id=last_event_id, timeout_s=timeout_s)
    return EventStream(service.until_signed_out(context, me, stream), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


__all__ = ["router"]
