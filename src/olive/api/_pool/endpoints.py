"""GET /pool: one thin handler."""

from __future__ import annotations

from fastapi import APIRouter

from olive.api._deps import DbSession, Viewer
from olive.api._errors import responses
from olive.api._pool import service
from olive.api._pool.schemas import PoolOut

router = APIRouter(tags=["pool"], responses=responses(401, 403, 422))


@router.get(
    "/pool",
    dependencies=[Viewer],
    summary="Servers, nodes and units",
    description="The Asterisk servers with their limits and health, the live olive nodes, and every unit "
    "(a campaign on a server) with the node holding its lease and its fencing token (docs/scale-out.md). "
    "Any node answers it.",
)
def read_pool(session: DbSession) -> PoolOut:
    return service.pool(session)


__all__ = ["router"]
