"""/health and /ready: probes for load balancers and orchestrators; no API key needed."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from olive.api._deps import Context
from olive.engine import EngineState

router = APIRouter(tags=["probes"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable"]
    engine: str = Field(description="created, running, stopping or stopped")
    asterisk: dict[str, str] = Field(
        description="each configured Asterisk server's AMI link: ready, reconciling, disconnected, or "
        "degraded (connected, but an action has waited more than 5 s for its answer or timed out)"
    )


@router.get("/health", summary="Liveness: the process answers")
async def health() -> Health:
    return Health()


@router.get(
    "/ready",
    summary="Readiness: the database answers and the engine runs",
    description="200 when the database is reachable and the engine is running, else 503. "
    "AMI links are reported but do not decide readiness: the API works while Asterisk is away.",
    responses={503: {"model": Readiness, "description": "Not ready."}},
)
def ready(context: Context, response: Response) -> Readiness:
    database: Literal["ok", "unreachable"] = "ok"
    try:
        with context.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        database = "unreachable"
    engine = context.engine
    ok = database == "ok" and engine.state is EngineState.RUNNING
    if not ok:
        response.status_code = 503
    return Readiness(
        status="ready" if ok else "not_ready",
        database=database,
        engine=engine.state.value,
        asterisk={name: link.health for name, link in engine.links.items()},
    )


__all__ = ["router"]
