"""One database, one dialing node: the engine's side of the dialing lease.

The node that starts first takes the lease (``olive.store.LeaseRepository``)
and renews it every third of its time to live. A second ``olive serve`` or
``olive run`` on the same database finds it held and refuses to start (the
CLI says by whom, and until when). A dead node stops renewing; once its lease
expires a successor may take it. Fencing: a node whose renewals fail (the
database is away, or another node took the lease) stops dialing a third of
the time to live *before* its lease expires, so two nodes never dial at once.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from olive.store import LeaseHolder, LeaseRepository, transaction

log = logging.getLogger("olive.engine")

TTL_S = 15.0


class LeaseHeld(RuntimeError):
    """Another live node holds the dialing lease of this database."""


def default_node_name() -> str:
    return os.environ.get("OLIVE_NODE") or f"{socket.gethostname()}:{os.getpid()}"


class DialingLease:
    """This process's claim to dial; time is the wall clock (``wall``), as nodes share it."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        node: str | None = None,
        *,
        ttl_s: float = TTL_S,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.node = node or default_node_name()
        self.token = uuid.uuid4().hex
        self.ttl_s = ttl_s
        self.wall = wall
        self.holder: LeaseHolder | None = None
        self.valid_until = -math.inf  # when our lease expires, as of our last renewal
        self._next_renewal = -math.inf
        self.note: str | None = "the dialing lease is not taken yet"

    def __repr__(self) -> str:
        return f"<DialingLease {self.node} {'held' if self.held else 'not held'}>"

    @property
    def renew_every_s(self) -> float:
        return self.ttl_s / 3

    @property
    def held(self) -> bool:
        return self.may_dial(self.wall())

    def may_dial(self, now: float) -> bool:
        """Fenced: stop a third of the lease before it expires, whatever the database says."""
        return now < self.valid_until - self.ttl_s / 3

    def acquire(self) -> bool:
        """One attempt to take or renew the lease; True if this node may dial."""
        now = self.wall()
        self._next_renewal = now + self.renew_every_s
        try:
            with transaction(self.sessions) as session:
                holder = LeaseRepository(session).acquire(self.node, self.token, now, self.ttl_s)
        except Exception as exc:
            self.note = f"the dialing lease could not be renewed ({type(exc).__name__}); dialing stops before it expires"
            log.warning("dialing lease: renewal failed: %s", exc)
            return self.may_dial(now)
        self.holder = holder
        if holder.token == self.token:
            self.valid_until = now + self.ttl_s  # from before the statement: errs early
            self.note = None
        else:
            if self.valid_until > -math.inf:
                log.error("dialing lease: node %s took it; this node stops dialing", holder.node)
            self.valid_until = -math.inf
            self.note = self.held_by_message(holder)
        return self.may_dial(now)

    def renewal_due(self) -> bool:
        """Whether :meth:`tick` would renew (a database round trip); if not, ``may_dial`` alone says."""
        return self.wall() >= self._next_renewal

    def tick(self) -> bool:
        """Renew when due; whether this node may dial now."""
        if self.wall() >= self._next_renewal:
            self.acquire()
        return self.may_dial(self.wall())

    def release(self) -> None:
        if self.valid_until == -math.inf:
            return
        self.valid_until = -math.inf
        try:
            with transaction(self.sessions) as session:
                LeaseRepository(session).release(self.token)
        except Exception as exc:
            log.warning("dialing lease: could not release it (%s); it expires in %gs", exc, self.ttl_s)

    @staticmethod
    def held_by_message(holder: LeaseHolder) -> str:
        until = datetime.fromtimestamp(holder.expires_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            f"node {holder.node} holds the dialing lease of this database (renewed until {until}); "
            "one node dials per database"
        )


__all__ = ["TTL_S", "DialingLease", "LeaseHeld", "default_node_name"]
