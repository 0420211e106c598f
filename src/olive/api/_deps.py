"""What handlers depend on: the store session, the engine, the caller's key, paging.

One request, one transaction: :data:`DbSession` opens it before the handler
and commits after it returns (before the response is sent), or rolls back if
it raised. Services flush but never commit.

Every route declares who may call it: :data:`Viewer` (any valid key) for
reads, :data:`Admin` for changes. Keys come as ``Authorization: Bearer <key>``
or ``X-API-Key: <key>``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from olive.api._errors import Forbidden, Unauthorized
from olive.engine import Engine
from olive.store import transaction, verify_api_key

_KEY_SHAPE = re.compile(r"olive_[A-Za-z0-9_\-]{8,128}")
#: ``last_used_at`` is written at most this often per key.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass
class ApiContext:
    """What the app serves from: the store and the engine. ``closing`` is set at shutdown."""

    sessions: sessionmaker[Session]
    engine: Engine
    closing: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    name: str
    role: str


async def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.olive
    return context


Context = Annotated[ApiContext, Depends(get_context)]


async def get_engine(context: Context) -> Engine:
    return context.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def db_session(context: Context) -> Iterator[Session]:
    with transaction(context.sessions) as session:
        yield session


DbSession = Annotated[Session, Depends(db_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An olive API key: `Authorization: Bearer olive_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An olive API key, as a header")


def authenticate(
    context: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Principal:
    plaintext = bearer.credentials if bearer is not None else header
    if not plaintext:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    if _KEY_SHAPE.fullmatch(plaintext) is None:
        raise Unauthorized("the API key is not valid")
    with context.sessions() as session:
        row = verify_api_key(session, plaintext)
        if row is None:
            raise Unauthorized("the API key is not valid")
        principal = Principal(row.id, row.name, row.role)
        previous = inspect(row).attrs.last_used_at.history.deleted
        if previous and previous[0] is not None and row.last_used_at - previous[0] < LAST_USED_RESOLUTION:
            session.rollback()  # recorded less than a minute ago: spare the database a write
        else:
            session.commit()
        return principal


async def require_admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if principal.role != "admin":
        raise Forbidden(f"the {principal.role} role can only read; this needs an admin key")
    return principal


Viewer = Depends(authenticate)
Admin = Depends(require_admin)


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int


async def paging(
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")] = 0,
) -> Paging:
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(paging)]


__all__ = [
    "Admin",
    "ApiContext",
    "Context",
    "DbSession",
    "EngineDep",
    "Paging",
    "PagingDep",
    "Principal",
    "Viewer",
    "authenticate",
    "get_context",
    "require_admin",
]
