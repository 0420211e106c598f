"""What went wrong inside the engine, counted: for ``/ready`` and for metrics.

No single event or tick may stop the engine, so failures are contained where
they happen, and counted here so that an operator sees them: per engine (the
``/ready`` probe) and at ``/metrics``, where olive.metrics reads them at each scrape.
Log lines for failures that can repeat per event are rate-limited.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

FAILING_AFTER = 3  # ticks failing in a row before /ready says not ready


class RateLimitedLog:
    """At most one line per ``every_s`` (real seconds), saying how many were held back."""

    def __init__(self, logger: logging.Logger, every_s: float = 60.0) -> None:
        self.logger = logger
        self.every_s = every_s
        self._next = 0.0
        self._held = 0

    def warning(self, msg: str, *args: object, exc_info: bool = False) -> bool:
        """Log unless one was logged less than ``every_s`` ago; True when logged."""
        now = time.monotonic()
        if now < self._next:
            self._held += 1
            return False
        held, self._held = self._held, 0
        suffix = f" ({held} more like it since the last report)" if held else ""
        self.logger.warning(msg + suffix, *args, exc_info=exc_info)
        self._next = now + self.every_s
        return True


@dataclass
class EngineHealth:
    """Counts of contained failures, since the engine started."""

    tick_failures: int = 0
    tick_failures_in_a_row: int = 0
    last_tick_error: str | None = None
    changes_set_aside: int = 0

    def tick_ok(self) -> None:
        self.tick_failures_in_a_row = 0

    def tick_failed(self, exc: BaseException) -> None:
        self.tick_failures += 1
        self.tick_failures_in_a_row += 1
        self.last_tick_error = f"{type(exc).__name__}: {exc}"[:300]

    def change_set_aside(self) -> None:
        self.changes_set_aside += 1

    @property
    def failing(self) -> bool:
        """Ticks keep failing: the engine is not dialing."""
        return self.tick_failures_in_a_row >= FAILING_AFTER


__all__ = [
    "FAILING_AFTER",
    "EngineHealth",
    "RateLimitedLog",
]
