"""Time for everything that waits: real, or scaled for the simulator and the demo.

Pure components (call tracking, pacing) never read a clock; they are handed
``now``. The edges (engine, simulator) read it here, so one ScaledClock
shared by the simulated PBX and the engine runs a whole campaign 10x faster
with every duration still expressed in the campaign's own seconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch, in this clock's time."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...

    @property
    def scale(self) -> float:
        """How many clock seconds pass per real second."""
        ...


class SystemClock:
    scale = 1.0

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """A clock running ``scale`` times faster than real time, from ``start`` (default: now)."""

    def __init__(self, scale: float = 1.0, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError(f"clock scale must be positive, got {scale}")
        self.scale = float(scale)
        self._start = time.time() if start is None else start
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._t0) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)


class ManualClock:
    """Virtual time that moves only when a test says so: ``await clock.advance(5)``.

    Sleepers wake in due order, each at its exact due time, with the event loop
    let run after each (``settle``) so what the wake-up caused happens before
    time moves on. Share one with the simulated PBX (in memory) and the engine
    for deterministic tests with exact durations. Not test-only code: it is
    public, for anyone who tests against olive.sim (docs/simulator.md).
    """

    scale = 1.0

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01 00:00 UTC
        self._now = float(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), waiter))
        await waiter

    def next_wake(self) -> float | None:
        """When the earliest sleeper is due (clock time), or None if nobody sleeps."""
        while self._sleepers and self._sleepers[0][2].done():  # cancelled
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def run_until_complete(self, task: asyncio.Future[T], *, idle_s: float = 0.001) -> T:
        """Drive ``task`` in virtual time: whenever the event loop has nothing ready, jump to the
        next sleeper. So a scene that takes minutes of clock time runs as fast as its work, with
        every duration exact. Real I/O (other than memory pipes) gets ``idle_s`` real seconds a turn."""
        while not task.done():
            await self.settle()
            if task.done():
                break
            due = self.next_wake()
            if due is None:
                await asyncio.sleep(idle_s)
            else:
                await self.advance(due - self._now)
        return task.result()

    async def advance(self, seconds: float) -> None:
        """Move time ``seconds`` on, waking every sleeper due by then at its due time."""
        target = self._now + max(0.0, seconds)
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, waiter = heapq.heappop(self._sleepers)
            if waiter.done():  # cancelled
                continue
            self._now = max(self._now, when)
            waiter.set_result(None)
            await self.settle()
        self._now = target
        await self.settle()

    @staticmethod
    async def settle(rounds: int = 30) -> None:
        """Let the event loop run what is ready (bytes in memory pipes, woken tasks)."""
        for _ in range(rounds):
            await asyncio.sleep(0)
