"""The FastAPI application: routers, error handlers, and the engine's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from olive import __version__
from olive.api._admission import API_THREADS, MAX_IN_FLIGHT, Admission, AdmissionState
from olive.api._deps import ApiContext, commit_in_handler_thread
from olive.api._docs import install_docs
from olive.api._engine_loop import EngineLoop
from olive.api._errors import install_error_handlers
from olive.api._limits import BodyLimit
from olive.api._metrics import RequestMetrics
from olive.api._metrics import router as metrics_router
from olive.api._probes import HealthFirst
from olive.api._probes import router as probes
from olive.api._routes import routers
from olive.engine import Engine, EngineState
from olive.metrics import EngineCollector

MAX_BODY_BYTES = 64 * 1024 * 1024

DESCRIPTION = """\
olive's REST API: plans, campaigns, agents, dial lists and their contacts,
call records, live statistics and a live event stream.

Every endpoint except `/health` and `/ready` needs an API key
(`olive apikey create --role admin|viewer`), sent as `Authorization: Bearer <key>`.
Viewer keys read; admin keys also change things. Errors share one shape
(`ErrorBody`): 401/403 for keys, 404 for unknown ids, 409 for conflicts with
the current state, 422 naming each bad field. See docs/api.md.
"""


def create_app(
    sessions: sessionmaker[Session],
    engine: Engine,
    *,
    manage_engine: bool = True,
    api_threads: int = API_THREADS,
    max_in_flight: int = MAX_IN_FLIGHT,
    engine_thread: bool = True,
    engine_loop: EngineLoop | None = None,
) -> FastAPI:
    """The API over ``sessions`` and ``engine``.

    With ``manage_engine`` (the default) the app starts the engine when it
    starts and stops it when it stops, so one process serves and dials.
    ``api_threads`` bounds the threads the API's sync endpoints run in, and
    past ``max_in_flight`` requests a new one is answered 503 with Retry-After
    (:mod:`olive.api._admission`), so API load cannot starve the engine.

    With ``engine_thread`` (the default) a managed engine runs on an event loop
    of its own in a thread of its own, apart from the loop that serves HTTP
    (:mod:`olive.api._engine_loop`). An engine the caller runs (``manage_engine=False``)
    is on the serving loop, or on the ``engine_loop`` given.
    """
    if engine_loop is None:
        engine_loop = EngineLoop(engine, in_thread=manage_engine and engine_thread)
    context = ApiContext(
        sessions, engine, engine_loop=engine_loop, admission=AdmissionState(api_threads, max_in_flight)
    )
    context.metrics.registry.register(EngineCollector(engine))
    engine.on_tick = context.metrics.observe_tick

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_engine and engine.state is EngineState.CREATED:
            await engine_loop.start()
        try:
            yield
        finally:
            context.closing.set()
            if manage_engine:
                await engine_loop.stop()

    app = FastAPI(
        title="olive",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served by install_docs, from olive's own copy of Swagger UI
        redoc_url=None,
    )
    app.state.olive = context
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(Admission, state=context.admission)  # before any work; its 503s are still counted
    app.add_middleware(RequestMetrics, metrics=context.metrics)
    app.add_middleware(HealthFirst)  # outermost: /health answered before any other layer
    install_error_handlers(app)
    install_docs(app)
    app.include_router(probes)
    app.include_router(metrics_router)
    for router in routers():
        app.include_router(commit_in_handler_thread(router))
    return app


__all__ = ["MAX_BODY_BYTES", "create_app"]
