"""Time for everything that waits: real, or scaled for the simulator and the demo.

Pure components (call tracking, pacing) never read a clock; they are handed
``now``. The edges (engine, simulator) read it here, so one ScaledClock
shared by the simulated PBX and the engine runs a whole campaign 10x faster
with every duration still expressed in the campaign's own seconds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


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

    def to_real(self, seconds: float) -> float:
        return seconds / self.scale
