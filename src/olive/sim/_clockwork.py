"""Logical time for the simulated PBX.

Every timer fires with ``now`` set to its due time, not to the moment the
event loop got round to it, so a call that rings 6 s answers exactly 6 s in
whatever the wall-clock jitter. Actions from the network happen at the
clock's current time, after every timer due by then. Work deferred with
:meth:`Scheduler.defer` runs once the current instant is over (Asterisk
publishes device states that way, after the change that caused them).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable
from typing import Any

from olive.clock import Clock

log = logging.getLogger("olive.sim")


def _guarded(callback: Callable[[], None]) -> None:
    """A bug in one call's handling is logged; the PBX and its other calls go on."""
    try:
        callback()
    except Exception:
        log.exception("simulated PBX: error while handling %r", callback)


class Timer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.now = clock.now()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._deferred: list[Callable[[], None]] = []
        self._wake: asyncio.Event | None = None

    def at(self, when: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(max(when, self.now), callback)
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        if self._wake is not None:
            self._wake.set()
        return timer

    def later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self.at(self.now + max(0.0, delay), callback)

    def defer(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when everything due at this instant has run."""
        self._deferred.append(callback)

    def advance(self, until: float | None = None) -> None:
        """Fire every timer due by ``until`` (default: the clock's time), in due order."""
        target = self.clock.now() if until is None else max(until, self.now)
        while self._heap and self._heap[0][0] <= target:
            when, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self.now = max(self.now, when)
            _guarded(timer.callback)
            if not self._heap or self._heap[0][0] > self.now:
                self.flush()
        self.flush()
        self.now = max(self.now, target)

    def flush(self) -> None:
        while self._deferred:
            pending, self._deferred = self._deferred, []
            for callback in pending:
                _guarded(callback)

    def run_now(self, callback: Callable[[], None], at: float | None = None) -> None:
        """Run ``callback`` (an action from the network) at the clock's time, or at ``at``:
        actions that arrived together are handled at their arrival time."""
        self.advance(at)
        _guarded(callback)
        self.flush()

    async def run(self) -> None:
        self._wake = asyncio.Event()
        while True:
            self.advance()
            self._wake.clear()
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
            woken = asyncio.ensure_future(self._wake.wait())
            waits: set[asyncio.Future[Any]] = {woken}
            if self._heap:  # on the clock's own time: scaled, real or manual
                waits.add(asyncio.ensure_future(self.clock.sleep(max(0.0, self._heap[0][0] - self.clock.now()))))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()


__all__ = ["Scheduler", "Timer"]
