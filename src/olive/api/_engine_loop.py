"""The engine on an event loop of its own, in a thread of its own, apart from HTTP.

``olive serve`` used to run everything on one asyncio loop: uvicorn parsing
50 clients' requests, the middleware, the engine's AMI reading and its ticks.
Whatever one of them did delayed the others: under 50 API clients the loop
woke 150 ms late at p99, so ``/health`` (answered on that loop) took as long,
and the engine's ticks took 2.5 times as long (docs/performance.md, "API load,
measured again"). Now the engine runs on its own loop in its own thread
(:class:`EngineLoop`), and the API's loop only serves HTTP:

- HTTP work cannot delay the engine's AMI reading or its ticks, nor a tick
  delay ``/health``: each waits only for its own loop (and for the GIL, which
  both threads share; see docs/architecture.md);
- the API reaches the engine only through :meth:`EngineLoop.call` (a control
  verb: a coroutine run on the engine's loop, its result or error handed
  back) and :meth:`EngineLoop.read` (a read of the engine's state taken on its
  loop, so never half-way through a tick);
- the engine's bus delivers each event to a subscriber on the subscriber's
  loop (``olive.engine._bus``), so event streams and the dashboard are
  unchanged.

When the engine runs on the loop that serves HTTP (``create_app(...,
engine_thread=False)``, tests that drive it there), both calls run in place.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from olive.engine import Engine

log = logging.getLogger("olive.api")

T = TypeVar("T")


class EngineLoop:
    """Where the engine runs: a loop of its own in a thread of its own, or the caller's loop.

    ``loop`` is None until :meth:`start` (or for an engine run on the serving loop,
    ``in_thread=False``): then :meth:`call` and :meth:`read` run in place.
    """

    def __init__(self, engine: Engine, *, in_thread: bool = True, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.engine = engine
        self.in_thread = in_thread
        self.loop: asyncio.AbstractEventLoop | None = loop
        self.thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = "its own thread" if self.thread is not None else "the caller's loop"
        return f"<EngineLoop {self.engine.state.value} on {where}>"

    # -- lifetime -----------------------------------------------------------------------
    async def start(self) -> None:
        """Start the engine: on a new loop in a thread of its own (``in_thread``), else here."""
        if not self.in_thread:
            self.loop = asyncio.get_running_loop()
            await self.engine.start()
            return
        ready = threading.Event()
        holder: list[asyncio.AbstractEventLoop] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            holder.append(loop)
            ready.set()
            try:
                loop.run_forever()
            finally:
                _close(loop)

        self.thread = threading.Thread(target=run, name="olive-engine-loop", daemon=True)
        self.thread.start()
        ready.wait()
        self.loop = holder[0]
        try:
            await self.call(self.engine.start())
        except BaseException:
            await self._end_thread()
            raise

    async def stop(self, *, hangup: bool = False) -> None:
        """Stop the engine (on its loop), then its loop and thread."""
        try:
            await self.call(self.engine.stop(hangup=hangup))
        finally:
            await self._end_thread()

    async def _end_thread(self) -> None:
        loop, thread = self.loop, self.thread
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):  # already closed
            loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 30)
        if thread.is_alive():
            log.error("the engine's thread did not end within 30 s")
        self.thread = None

    # -- crossing over --------------------------------------------------------------------
    def _elsewhere(self) -> asyncio.AbstractEventLoop | None:
        """The engine's loop if it is not the running one (then calls cross threads), else None."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return None
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            return loop
        return None if here is loop else loop

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` (a control verb) on the engine's loop; its result or exception comes back."""
        loop = self._elsewhere()
        if loop is None:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` (a read of the engine's state, or a bus publish) run on the engine's loop,
        between two of its steps, never half-way through a tick."""
        loop = self._elsewhere()
        if loop is None:
            return fn(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return await asyncio.wrap_future(future)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """End what is left on the engine's loop (as asyncio.run does), then close it."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


__all__ = ["EngineLoop"]
