"""/health and /ready: probes for load balancers and orchestrators; no API key needed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from olive.api._deps import Context
from olive.engine import Engine, EngineState
from olive.store import ping

router = APIRouter(tags=["probes"])

#: How long /ready waits for the engine's loop to hand over its state before saying not_answering.
ENGINE_ANSWER_S = 2.0


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class LinkEvents(BaseModel):
    malformed: int = Field(description="AMI events skipped as malformed")
    failed: int = Field(description="events whose applying raised; contained to their call")
    timestamps_ignored: int = Field(description="event Timestamps outside the sane window, replaced by olive's clock")


class EngineHealthView(BaseModel):
    tick_failures: int = Field(description="engine ticks that raised since start (the next tick retries)")
    tick_failures_in_a_row: int = Field(description="3 or more: not ready, the engine is not dialing")
    last_tick_error: str | None = None
    changes_set_aside: int = Field(description="call or agent changes the database refused alone, set aside")
    events: dict[str, LinkEvents] = Field(description="per Asterisk server")


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable"]
    engine: str = Field(
        description="created, running, stopping or stopped; not_answering when the engine's event loop "
        f"has not answered within {ENGINE_ANSWER_S:g} s (it runs in a thread of its own)"
    )
    asterisk: dict[str, str] = Field(
        description="each configured Asterisk server's AMI link: ready, reconciling, disconnected, or "
        "degraded (connected, but an action has waited more than 5 s for its answer or timed out)"
    )
    health: EngineHealthView | None = None
    dialing_lease: str | None = Field(
        None, description="'held by NODE' on the node that dials; else why this node does not dial (not ready)"
    )


@router.get("/health", summary="Liveness: the process answers")
async def health() -> Health:
    return Health()  # documents /health; HealthFirst answers it before it gets here


_HEALTH_BODY = b'{"status":"ok"}'
_HEALTH_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(_HEALTH_BODY)).encode())],
}


class HealthFirst:
    """ASGI middleware, outermost: ``GET /health`` is answered at once, the same answer as the
    route's, without the body limit, admission, request metrics, routing or validation.

    A liveness probe asks whether the process answers; its latency is then the serving loop's
    own, not that of the layers under load (the loop serves HTTP only: ``_engine_loop``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/health" and scope["method"] == "GET":
            await send(_HEALTH_START)
            await send({"type": "http.response.body", "body": _HEALTH_BODY})
            return
        await self.app(scope, receive, send)


@router.get(
    "/ready",
    summary="Readiness: the database answers and the engine runs",
    description="200 when the database is reachable and the engine is running (its ticks not failing), else 503. "
    "AMI links are reported but do not decide readiness: the API works while Asterisk is away.",
    responses={503: {"model": Readiness, "description": "Not ready."}},
)
async def ready(context: Context, response: Response) -> Readiness:
    # Async, and its one query runs on a thread of its own: never queued behind API requests.
    loop = asyncio.get_running_loop()
    database = await loop.run_in_executor(context.probe_executor, _database, context.sessions)
    try:  # taken on the engine's loop, between two of its steps; a loop that does not answer is not ready
        view = await asyncio.wait_for(context.engine_view(_engine_view, context.engine), ENGINE_ANSWER_S)
    except TimeoutError:
        view = _NOT_ANSWERING
    ok = database == "ok" and view.running and not view.fenced
    if not ok:
        response.status_code = 503
    return Readiness(
        status="ready" if ok else "not_ready",
        database=database,
        engine=view.state,
        asterisk=view.servers,
        health=view.health,
        dialing_lease=view.lease,
    )


@dataclass(frozen=True)
class _EngineView:
    state: str
    running: bool  # running, its ticks not failing
    fenced: bool
    servers: dict[str, str]
    health: EngineHealthView | None
    lease: str | None


_NOT_ANSWERING = _EngineView("not_answering", running=False, fenced=False, servers={}, health=None, lease=None)


def _engine_view(engine: Engine) -> _EngineView:
    lease = engine.lease
    fenced = lease is not None and not lease.held
    return _EngineView(
        state=engine.state.value,
        running=engine.state is EngineState.RUNNING and not engine.health.failing,
        fenced=fenced,
        servers=engine.servers(),
        health=_health(engine),
        lease=None if lease is None else (lease.note if fenced else f"held by {lease.node}"),
    )


def _database(sessions: sessionmaker[Session]) -> Literal["ok", "unreachable"]:
    try:
        with sessions() as session:
            ping(session)
    except Exception:
        return "unreachable"
    return "ok"


def _health(engine: Engine) -> EngineHealthView:
    h = engine.health
    return EngineHealthView(
        tick_failures=h.tick_failures,
        tick_failures_in_a_row=h.tick_failures_in_a_row,
        last_tick_error=h.last_tick_error,
        changes_set_aside=h.changes_set_aside,
        events={
            name: LinkEvents(
                malformed=link.malformed_events,
                failed=link.event_failures,
                timestamps_ignored=link.event_clock.ignored,
            )
            for name, link in engine.links.items()
        },
    )


__all__ = ["HealthFirst", "router"]
