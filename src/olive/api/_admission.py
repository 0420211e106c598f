"""Admission: the API takes a bounded share of the process, and says 503 when it is full.

The API's synchronous endpoints and dependencies run in anyio's default
thread pool (Starlette's ``run_in_threadpool``), 40 threads by default. In
``olive serve`` they share one interpreter with the engine's single database
thread, so 40 busy request threads take the GIL from the one thread that
dials. :class:`Admission` does two things:

- it sets the default thread limiter of the loop it serves to
  :data:`API_THREADS` tokens, so at most that many API threads run Python at
  once whatever the number of clients;
- it counts the requests in flight (all but the probes, metrics, the docs
  and long-lived event streams) and, past :data:`MAX_IN_FLIGHT`, answers at
  once with 503 ``overloaded`` and ``Retry-After`` instead of letting requests
  queue for threads without bound.

Long requests (contact and DNC imports, the calls CSV export) run in
threads of their own limiter (:data:`BULK_THREADS`, :func:`run_bulk`,
:func:`bulk_chunks`), not the API's: a minutes-long import no longer holds
one of the API's threads, so that pool can be as small as keeps the engine
dialing under load (one).

``/health`` is async and never enters the count or the thread pool, so it
answers while the API is saturated.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from olive.api._errors import overloaded

log = logging.getLogger("olive.api")

#: Threads the API may run at once (anyio's default limiter; Starlette's default is 40).
#: One: the API's work is Python under the GIL, so more threads answer no more requests and
#: take the GIL from the engine's database thread (50 clients on PostgreSQL: dialing -42 %
#: with 4, -23 % with 2, -1 % with 1; docs/performance.md).
API_THREADS = 1
#: Threads for long requests (imports, exports), apart from the API's: one at a time.
BULK_THREADS = 1
#: Requests in flight (running or waiting for one of those threads) before new ones get 503.
#: Below the API's pool (10 + 10 connections): a request waiting for a thread may already hold
#: a connection (its key was checked), so more in flight would only starve the pool.
MAX_IN_FLIGHT = 16

#: Paths never counted nor refused: probes, metrics, docs, and event streams (they stay open).
EXEMPT_PREFIXES = ("/health", "/ready", "/metrics", "/docs", "/openapi.json")
EXEMPT_SUFFIXES = ("/events",)  # GET /events, GET /agent/events


def exempt(path: str) -> bool:
    return path.startswith(EXEMPT_PREFIXES) or path.endswith(EXEMPT_SUFFIXES)


def install_thread_limit(threads: int) -> None:
    """Bound the running loop's default thread limiter (anyio keeps one per event loop)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads


@dataclass
class AdmissionState:
    """What the middleware counts (read by tests and operators; written on the loop only)."""

    threads: int = API_THREADS
    max_in_flight: int = MAX_IN_FLIGHT
    in_flight: int = 0
    refused: int = 0
    bulk: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(BULK_THREADS))


T = TypeVar("T")


async def run_bulk(state: AdmissionState, fn: Callable[..., T], *args: Any) -> T:
    """Run a long request's work (an import) in a thread of the bulk limiter, not the API's."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=state.bulk)


async def bulk_chunks(state: AdmissionState, chunks: Iterator[T]) -> AsyncIterator[T]:
    """Each chunk of a long response (an export) made in a thread of the bulk limiter."""
    done = object()
    while True:
        chunk: T | object = await anyio.to_thread.run_sync(next, chunks, done, limiter=state.bulk)
        if chunk is done:
            return
        yield chunk  # type: ignore[misc]  # not `done`: a T


class Admission:
    """ASGI middleware: bounded API threads, and 503 with Retry-After past ``max_in_flight``."""

    def __init__(self, app: ASGIApp, *, state: AdmissionState) -> None:
        if state.threads < 1 or state.max_in_flight < 1:
            raise ValueError("threads and max_in_flight must be at least 1")
        self.app = app
        self.state = state
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the limiter is per loop: set it on the loop that serves
            install_thread_limit(self.state.threads)
            self._loop = loop
        if scope["type"] != "http" or exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = self.state
        if state.in_flight >= state.max_in_flight:
            state.refused += 1
            if state.refused == 1 or state.refused % 1000 == 0:
                log.warning("API saturated (%d requests in flight): answered 503 %d time(s)", state.in_flight, state.refused)
            response = overloaded(
                f"the server is overloaded: {state.in_flight} requests are already in progress; retry shortly"
            )
            await response(scope, receive, send)
            return
        state.in_flight += 1  # the loop is one thread: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            state.in_flight -= 1


__all__ = [
    "API_THREADS",
    "BULK_THREADS",
    "EXEMPT_PREFIXES",
    "MAX_IN_FLIGHT",
    "Admission",
    "AdmissionState",
    "bulk_chunks",
    "exempt",
    "install_thread_limit",
    "run_bulk",
]
