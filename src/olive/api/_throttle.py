"""Wrong API keys, counted per client address: a flood gets 429 and one log line.

A guessed key costs a database lookup; a client stuck on a revoked key, or a
scanner, sends thousands. After :data:`LIMIT` wrong keys from one address
within :data:`WINDOW_S` seconds, every request from that address that needs
a key is answered 429 with ``Retry-After`` (before any lookup) until the
oldest failure leaves the window. Only keys of olive's shape (``olive_...``)
count: anything else is refused without touching the database. Keys are
never logged; the address and the count are.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from olive.errors import OliveError

log = logging.getLogger("olive.api")

LIMIT = 20
WINDOW_S = 60.0
MAX_ADDRESSES = 10_000  # memory stays bounded under a flood from many addresses


class TooManyRequests(OliveError):
    status_code = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


class AuthThrottle:
    def __init__(
        self, limit: int = LIMIT, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def check(self, address: str) -> None:
        """Raise :class:`TooManyRequests` while ``address`` is over the limit."""
        failures = self._recent(address)
        if failures is not None and len(failures) >= self.limit:
            retry = max(1, math.ceil(failures[0] + self.window_s - self.clock()))
            raise TooManyRequests(
                f"too many wrong API keys from this address; try again in {retry} s", retry
            )

    def failed(self, address: str) -> None:
        """A wrong key from ``address``."""
        failures = self._recent(address)
        if failures is None:
            failures = self._failures[address] = deque()
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)
        failures.append(self.clock())
        self._failures.move_to_end(address)
        if len(failures) == self.limit:
            log.warning(
                "%d wrong API keys from %s within %gs: answering 429 until they age out",
                self.limit, address, self.window_s,
            )

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        horizon = self.clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures


__all__ = ["LIMIT", "WINDOW_S", "AuthThrottle", "TooManyRequests"]
