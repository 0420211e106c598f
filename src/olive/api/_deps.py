"""What handlers depend on: the store session, the engine, the caller's key, paging.

One request, one transaction: :data:`DbSession` opens it before the handler
and commits after it returns (before the response is sent), or rolls back if
it raised. Services flush but never commit. A sync handler's transaction is
committed in the handler's own thread as it returns
(:func:`commit_in_handler_thread`): FastAPI validates a sync handler's
response in another trip to the thread pool, and the dependency's commit
comes after that, so a write transaction (on SQLite, the database's one
write lock) stayed open while the request waited for a thread again behind
every other request in flight, seconds under load, and the engine's tick
waited for it.

Every route declares who may call it: :data:`Viewer` (any valid key) for
reads, :data:`Admin` for changes. Keys come as ``Authorization: Bearer <key>``
or ``X-API-Key: <key>``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect as pyinspect
import re
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from olive.api._admission import AdmissionState
from olive.api._engine_loop import EngineLoop
from olive.api._errors import Forbidden, Unauthorized
from olive.api._throttle import AuthThrottle
from olive.engine import Engine
from olive.metrics import Metrics
from olive.store import (
    AGENT_TOKEN_PREFIX,
    Agent,
    Campaign,
    DialList,
    Plan,
    verify_api_key,
)

T = TypeVar("T")

_KEY_SHAPE = re.compile(r"olive_[A-Za-z0-9_\-]{8,128}")
#: ``last_used_at`` is written at most this often per key: `olive apikey list` is exact to it.
LAST_USED_RESOLUTION = timedelta(seconds=1)


@dataclass
class ApiContext:
    """What the app serves from: the store and the engine. ``closing`` is set at shutdown."""

    sessions: sessionmaker[Session]
    engine: Engine
    #: Where the engine runs (its own thread and loop in ``olive serve``): reach it through this.
    engine_loop: EngineLoop = field(default=None)  # type: ignore[assignment]  # set in __post_init__
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    auth_throttle: AuthThrottle = field(default_factory=AuthThrottle)
    sign_in_throttle: AuthThrottle = field(default_factory=lambda: AuthThrottle(what="wrong agent sign-ins"))
    metrics: Metrics = field(default_factory=Metrics)
    admission: AdmissionState = field(default_factory=AdmissionState)
    #: One thread of its own for /ready's database check, so it never waits behind API requests.
    probe_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="olive-probe")
    )

    def __post_init__(self) -> None:
        if self.engine_loop is None:
            self.engine_loop = EngineLoop(self.engine, in_thread=False)

    async def on_engine(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a control verb of the engine on the engine's loop (see ``_engine_loop``)."""
        return await self.engine_loop.call(coro)

    async def engine_view(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, a read of the engine's state, taken on the engine's loop."""
        return await self.engine_loop.read(fn, *args)


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


# What the engine reads into memory on a refresh: a committed change to one of these
# asks it to re-read on its next tick, not up to a refresh period later.
_ENGINE_READS = (Agent, Campaign, DialList, Plan)


def db_session(context: Context) -> Iterator[Session]:
    changed: list[bool] = []

    def note(session: Session, *_: object) -> None:
        if not changed and any(isinstance(o, _ENGINE_READS) for o in (*session.new, *session.dirty, *session.deleted)):
            changed.append(True)

    # Not ``transaction()``: a sync handler commits in its own thread (commit_in_handler_thread),
    # and the session must stay usable after that (a new transaction begins if it is used).
    with context.sessions() as session:
        event.listen(session, "before_flush", note)
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()
    if changed:  # after the commit: a tick that reads now sees the change
        context.engine.invalidate()


DbSession = Annotated[Session, Depends(db_session, scope="function")]


def commit_in_handler_thread(router: APIRouter) -> APIRouter:
    """Have each sync handler of ``router`` commit its :data:`DbSession` in its own thread, as it
    returns (the dependency's commit then finds nothing to do). Idempotent; returns ``router``."""
    for route in router.routes:
        if not isinstance(route, APIRoute) or pyinspect.iscoroutinefunction(route.endpoint):
            continue
        if not getattr(route.endpoint, "_olive_commits", False):
            route.endpoint = _committing(route.endpoint)
    return router


def _committing(handler: Any) -> Any:
    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = handler(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session) and value.in_transaction():
                value.commit()
        return result

    run._olive_commits = True  # type: ignore[attr-defined]
    return run

_bearer = HTTPBearer(auto_error=False, description="An olive API key: `Authorization: Bearer olive_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An olive API key, as a header")


def authenticate(
    request: Request,
    context: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Principal:
    plaintext = bearer.credentials if bearer is not None else header
    if not plaintext:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    if plaintext.startswith(AGENT_TOKEN_PREFIX):  # an agent's session reaches only /agent/... (api/_agent_auth.py)
        raise Forbidden("an agent's session can only use the agent's own endpoints (/agent/...)")
    if _KEY_SHAPE.fullmatch(plaintext) is None:
        raise Unauthorized("the API key is not valid")
    address = request.client.host if request.client else "unknown"
    context.auth_throttle.check(address)  # a flood of wrong keys: 429 before any lookup
    with context.sessions() as session:
        row = verify_api_key(session, plaintext)
        if row is None:
            context.auth_throttle.failed(address)
            raise Unauthorized("the API key is not valid")
        principal = Principal(row.id, row.name, row.role)
        previous = inspect(row).attrs.last_used_at.history.deleted
        if previous and previous[0] is not None and row.last_used_at - previous[0] < LAST_USED_RESOLUTION:
            session.rollback()  # recorded within the second: spare the database a write
        else:
            session.commit()
        return principal


async def checked(request: Request, principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """After the key: a query parameter given twice is refused unless it takes a list (422)."""
    repeated = repeated_query_params(request)
    if repeated:
        raise RequestValidationError(
            [{"loc": ("query", name), "msg": "given more than once; give it once", "type": "value_error"} for name in repeated]
        )
    return principal


async def require_admin(principal: Annotated[Principal, Depends(checked)]) -> Principal:
    if principal.role != "admin":
        raise Forbidden(f"the {principal.role} role can only read; this needs an admin key")
    return principal


Viewer = Depends(checked)
Admin = Depends(require_admin)


def repeated_query_params(request: Request) -> list[str]:
    """Names given more than once in the query string that the operation does not take as a list."""
    seen: dict[str, int] = {}
    for name, _ in request.query_params.multi_items():
        seen[name] = seen.get(name, 0) + 1
    repeated = sorted(name for name, count in seen.items() if count > 1)
    if not repeated:
        return []
    route = request.scope.get("route")
    template = getattr(route, "path_format", None)
    return [name for name in repeated if name not in _list_params(request.app, template, request.method)]


def _list_params(app: FastAPI, template: str | None, method: str) -> frozenset[str]:
    if template is None:
        return frozenset()
    operation = app.openapi().get("paths", {}).get(template, {}).get(method.lower(), {})
    names = set()
    for parameter in operation.get("parameters", ()):
        schema = parameter.get("schema", {})
        kinds = [schema, *schema.get("anyOf", ())]
        if parameter.get("in") == "query" and any(k.get("type") == "array" for k in kinds):
            names.add(parameter["name"])
    return frozenset(names)


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
    "checked",
    "commit_in_handler_thread",
    "get_context",
    "repeated_query_params",
    "require_admin",
]
