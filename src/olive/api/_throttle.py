"""Wrong credentials, counted per client address: a flood gets 429 and one log line.

A guessed key costs a database lookup; a client stuck on a revoked key, or a
scanner, sends thousands. After :data:`LIMIT` wrong keys from one address
within :data:`WINDOW_S` seconds, every request from that address that needs
a key is answered 429 with ``Retry-After`` (before any lookup) until the
oldest failure leaves the window. Only keys of olive's shape (``olive_...``)
count: anything else is refused without touching the database. Keys are
never logged; the address and the count are.

Agents' sign-ins (``POST /agent/session``) have a throttle of their own
(``what="wrong agent sign-ins"``): a wrong name or password counts, and a
flood is answered 429 before the password is hashed (scrypt, ~50 ms each).
Neither the name nor the password is logged.
"""

from __future__ import annotations

import logging
import math
import threading
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
        self,
        limit: int = LIMIT,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        *,
        what: str = "wrong API keys",
    ) -> None:
        self.what = what
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # sync handlers call it from the threadpool

    def check(self, address: str) -> None:
        """Raise :class:`TooManyRequests` while ``address`` is over the limit."""
        with self._lock:
            failures = self._recent(address)
            full = failures is not None and len(failures) >= self.limit
            oldest = failures[0] if failures else 0.0
        if full:
            retry = max(1, math.ceil(oldest + self.window_s - self.clock()))
            raise TooManyRequests(
                f"too many {self.what} from this address; try again in {retry} s", retry
            )

    def failed(self, address: str) -> None:
        """A wrong credential from ``address``."""
        with self._lock:
            failures = self._recent(address)
            if failures is None:
                failures = self._failures[address] = deque()
                while len(self._failures) > MAX_ADDRESSES:
                    self._failures.popitem(last=False)
            failures.append(self.clock())
            self._failures.move_to_end(address)
            count = len(failures)
        if count == self.limit:
            log.warning(
                "%d %s from %s within %gs: answering 429 until they age out",
                self.limit, self.what, address, self.window_s,
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
