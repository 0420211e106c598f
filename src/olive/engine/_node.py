"""One olive node among several: holds its share of units and starts or stops their work.

A unit is one campaign on one Asterisk server (docs/scale-out.md). The runner
registers the node, takes up to its fair share of free or expired units,
renews them every ``ttl_s / 3``, and gives each one to a :class:`UnitWorker`
(in the integration to come: an engine for that unit, which adopts its calls
in flight before it dials). It decides *when to stop* by its own monotonic
clock, measured from before each take or renewal statement was sent:
``stop_early_s`` before the database's expiry at the latest, so it has
stopped before any other node may take the unit. Every database write the
worker makes for the unit is fenced by the lease's token
(``olive.store.fence``); the runner only decides dialing on or off.

A node whose links to a server have been down for a while, while another
node reaches it, hands its units there over and holds off taking them back
(the decision: engine/_blind.py).

``olive serve --node`` runs it with :class:`olive.engine._unit.UnitEngines`
as the worker: one engine per unit held.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from olive.engine._blind import BLIND_HOLD_S, LINK_DOWN_GRACE_S, blindness, seen_up_by_others
from olive.store import (
    UnitLease,
    acquire_units,
    ensure_units,
    fair_share,
    forget_server_view,
    heartbeat_node,
    leave_node,
    record_server_view,
    register_node,
    release_units,
    renew_units,
    server_views,
    transaction,
)

log = logging.getLogger("olive.engine")

UNIT_TTL_S = 6.0
STOP_EARLY_S = 2.0  # a unit's work stops this long before its lease expires, at the latest
LOOK_EVERY_S = 1.0  # how often step() should run

Key = tuple[str, str]


class UnitWorker(Protocol):
    """What a node does with a unit it owns."""

    def start(self, lease: UnitLease) -> None:
        """Adopt the unit's calls in flight, then dial for it (under ``lease``'s token)."""

    def stop(self, lease: UnitLease, why: str) -> None:
        """Stop dialing for the unit at once; calls in progress are left to Asterisk and the next owner."""


class SeesServers(Protocol):
    """A worker that can say what its links see of each server (``UnitEngines`` does)."""

    def server_health(self) -> dict[str, tuple[str, str | None]]:
        """server name -> (``up`` or ``down``, a note), for the servers of the units it runs."""


class ProbesServers(Protocol):
    """A worker that can also say which servers this node reaches, units or not (engine/_probe.py)."""

    def probe_health(self) -> dict[str, tuple[str, str | None]]:
        """server name -> (``up`` or ``down``, a note), for every server it probes."""


class NodeRunner:
    """Holds units for one node. Call :meth:`step` every :data:`LOOK_EVERY_S`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        name: str,
        worker: UnitWorker,
        *,
        ttl_s: float = UNIT_TTL_S,
        stop_early_s: float = STOP_EARLY_S,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] | None = None,
        grace_s: float = LINK_DOWN_GRACE_S,
        hold_s: float = BLIND_HOLD_S,
    ) -> None:
        if not 0 < stop_early_s < ttl_s * 2 / 3:
            raise ValueError("stop_early_s must be above 0 and leave room for the renewals (below 2/3 of the TTL)")
        self.sessions = sessions
        self.name = name
        self.instance = uuid.uuid4().hex
        self.worker = worker
        self.ttl_s = ttl_s
        self.stop_early_s = stop_early_s
        self.monotonic = monotonic
        self.wall = wall  # None: the database's clock judges expiry (production); tests pass one
        self.leases: dict[Key, UnitLease] = {}
        self.deadline: dict[Key, float] = {}  # monotonic time after which the unit's work must have stopped
        self.working: set[Key] = set()
        self.registered = False
        self.health_seen: dict[str, str] = {}  # server -> the health this node last wrote
        self.viewed: set[str] = set()  # servers this node's view of is in the store
        # A partial partition (engine/_blind.py), by this node's monotonic clock:
        self.grace_s, self.hold_s = grace_s, hold_s
        self.down_since: dict[str, float] = {}  # server of held units -> first renewal that saw its links down
        self.handed_at: dict[str, float] = {}  # server -> when this node handed its units there over, blind
        self.handed_note: dict[str, str] = {}  # server -> this node's view of it meanwhile
        self.cut_seen: set[str] = set()  # servers handed over that this node's probe has since seen down
        self.up_elsewhere_since: dict[str, float] = {}  # server -> first look at which another node saw it up
        self._next_renewal = -math.inf

    def __repr__(self) -> str:
        return f"<NodeRunner {self.name} units={sorted(self.working)}>"

    def _at(self) -> float | None:
        return None if self.wall is None else self.wall()

    def may_dial(self, key: Key) -> bool:
        """Safe to call from another thread (the units' engines ask on the event loop)."""
        deadline = self.deadline.get(key)
        return deadline is not None and key in self.working and self.monotonic() < deadline

    def step(self) -> None:
        """Stop what ran out, renew when due, take up to the fair share, give back the excess."""
        self._stop_expired()
        try:
            if not self.registered:
                with transaction(self.sessions) as session:
                    self.registered = register_node(session, self.name, self.instance, self.ttl_s, at=self._at())
                if not self.registered:
                    log.error("node %s: another live process runs under this name; taking no units", self.name)
                    return
            if self.monotonic() >= self._next_renewal:
                self._renew()
            self._balance()
        except Exception as exc:  # the database is away: the deadlines stop the work in time
            log.warning("node %s: %s: %s", self.name, type(exc).__name__, exc)
        self._stop_expired()

    def leave(self) -> None:
        """A clean stop: stop every unit's work, then release the units and the name."""
        leases = list(self.leases.values())
        for key in list(self.leases):
            self._drop(key, "the node is stopping")
        try:
            with transaction(self.sessions) as session:
                release_units(session, leases)
                leave_node(session, self.name, self.instance, at=self._at())
        except Exception as exc:
            log.warning("node %s: could not release its units (%s); they expire in %gs", self.name, exc, self.ttl_s)
        self.registered = False

    def _stop_expired(self) -> None:
        now = self.monotonic()
        for key in sorted(self.working):
            if now >= self.deadline[key]:
                self.working.discard(key)
                self.worker.stop(self.leases[key], "its lease could not be renewed in time")
                log.error("node %s: stopped dialing for %s@%s: lease not renewed", self.name, *key)

    def _renew(self) -> None:
        sent = self.monotonic()
        self._next_renewal = sent + self.ttl_s / 3
        with transaction(self.sessions) as session:
            if not heartbeat_node(session, self.name, self.instance, self.ttl_s, at=self._at()):
                self.registered = False  # expired while away: register again (and take units like anyone)
            renewed = renew_units(session, list(self.leases.values()), self.ttl_s, at=self._at())
        kept = {lease.key for lease in renewed}
        for key in sorted(set(self.leases) - kept):
            self._drop(key, "its lease was lost (expired or taken)")
        for lease in renewed:
            self.leases[lease.key] = lease
            self.deadline[lease.key] = sent + self.ttl_s - self.stop_early_s
            if lease.key not in self.working and self.monotonic() < self.deadline[lease.key]:
                # Stopped while a renewal was slow, and the lease held after all: adopt and dial again.
                self.working.add(lease.key)
                self.worker.start(lease)
        self._write_health()  # after the deadlines: nothing here may cost the renewal

    def _write_health(self) -> None:
        """Write what this node sees of each server, with each renewal, as this node's view
        (``olive.store.record_server_view``, one transaction): its units' links on the servers of
        its units, its probes (engine/_probe.py) on the others; and withdraw its view of a server it
        no longer sees (no unit there, no probe). ``servers.health`` is combined from the live
        nodes' fresh views, every node and the API read it, and a fresh ``down`` keeps other nodes
        from taking the server's units (``olive.store.DOWN_HOLDS_S``)."""
        seen = getattr(self.worker, "server_health", None)
        if seen is None:
            return
        probed = getattr(self.worker, "probe_health", None)
        held = {server for _, server in self.working}
        now = self.monotonic()
        try:
            health: dict[str, tuple[str, str | None]] = seen()
            # The node's eyes: the links of its units where it holds some (a new engine not logged in
            # yet says nothing: its probe does), its probes elsewhere.
            eyes = {**(probed() if probed is not None else {}), **{s: h for s, h in health.items() if s in held}}
            self._track_down(eyes, held, now)
            # Servers it handed over, blind: it says it sees them down meanwhile (others take their units).
            blind = {server for server, at in self.handed_at.items() if now - at < self.hold_s} - held
            with transaction(self.sessions) as session:
                # One order of servers for every node: each write locks its server's row.
                for server in sorted(set(eyes) | blind | self.viewed):
                    if server in blind:
                        record_server_view(session, server, self.name, "down", self.handed_note.get(server), at=self._at())
                    elif server in eyes:
                        state, note = eyes[server]
                        record_server_view(session, server, self.name, state, note, at=self._at())
                    else:
                        forget_server_view(session, server, self.name, at=self._at())
        except Exception as exc:  # a server not in the pool, the database away: the renewal stands
            log.warning("node %s: could not write the servers' health: %s", self.name, exc)
            return
        self.viewed = set(eyes) | blind
        for server, (state, note) in sorted(eyes.items()):
            if self.health_seen.get(server) != state:
                log.info("node %s: server %s is %s%s", self.name, server, state, f" ({note})" if note else "")
        self.health_seen = {s: h[0] for s, h in eyes.items()}

    def _track_down(self, eyes: dict[str, tuple[str, str | None]], held: set[str], now: float) -> None:
        """Since when this node has seen each server down, in a row (its units' links, or its probe
        where it holds none); and a hold on a server handed over ends once the probe saw the cut
        and then the server again (without a probe, once it takes units there again)."""
        for server in set(self.down_since) - held - set(eyes):
            del self.down_since[server]
        for server in sorted(eyes):  # a server nothing here looks at says nothing: no news
            if eyes[server][0] == "down":
                self.down_since.setdefault(server, now)
                if server in self.handed_at:
                    self.cut_seen.add(server)
            else:
                self.down_since.pop(server, None)
                if server in held or server in self.cut_seen:  # it reaches the server again
                    if self.handed_at.pop(server, None) is not None and server not in held:
                        log.info("node %s: reaches %s again: it may take units there", self.name, server)
                    self.cut_seen.discard(server)

    def _balance(self) -> None:
        with transaction(self.sessions) as session:
            ensure_units(session)  # campaigns started through the API: one unit on their server
        with transaction(self.sessions) as session:
            share = fair_share(session, at=self._at())
            views = server_views(session, at=self._at())
        now = self.monotonic()
        up_elsewhere = seen_up_by_others(views, self.name)
        for server in set(self.up_elsewhere_since) - up_elsewhere:
            del self.up_elsewhere_since[server]
        for server in up_elsewhere:
            self.up_elsewhere_since.setdefault(server, now)
        blind = blindness(self.name, self.leases, self.down_since, self.handed_at, views, now,
                          grace_s=self.grace_s, hold_s=self.hold_s, up_elsewhere_since=self.up_elsewhere_since)
        for server in blind.holds_over:
            del self.handed_at[server]  # its view there is withdrawn with the next renewal
            self.cut_seen.discard(server)
        if blind.hand_over:
            self._hand_over(blind.hand_over, now)
        if len(self.leases) < share:
            self._take(share - len(self.leases), skip_servers=blind.skip)
        if blind.contested:  # units blind nodes handed over: someone who reaches the server holds them
            self._take(max(1, share), only_servers=blind.contested)
        if len(self.leases) > share + 1:
            # Not the units of a contested server: the node that cannot reach it would not take them.
            ordered = sorted(self.leases, key=lambda key: (key[1] not in blind.contested, key))
            excess = [key for key in ordered[share:] if key[1] not in blind.contested]
            if excess:
                leases = [self.leases[key] for key in excess]
                for key in excess:
                    self._drop(key, "handed over: this node holds more than its share")
                with transaction(self.sessions) as session:
                    release_units(session, leases)

    def _take(self, limit: int, *, skip_servers: Collection[str] = (), only_servers: Collection[str] | None = None) -> None:
        sent = self.monotonic()
        with transaction(self.sessions) as session:
            taken = acquire_units(session, self.name, self.ttl_s, limit=limit, at=self._at(),
                                  skip_servers=skip_servers, only_servers=only_servers)
        for lease in taken:
            self.leases[lease.key] = lease
            self.deadline[lease.key] = sent + self.ttl_s - self.stop_early_s
            self.working.add(lease.key)
            log.info("node %s: took %s@%s (token %d)", self.name, *lease.key, lease.token)
            self.worker.start(lease)

    def _hand_over(self, blind: Mapping[Key, float], now: float) -> None:
        """Stop dialing for units whose server this node cannot reach while others can, then release
        them (as the balance does): a node that reaches the server takes them and adopts their calls."""
        leases = [self.leases[key] for key in blind]
        for server in sorted({server for _, server in blind}):
            down_s = max(s for key, s in blind.items() if key[1] == server)
            self.handed_at[server] = now
            self.handed_note[server] = f"its links were down {down_s:.0f} s: its units here handed over"
            self.down_since.pop(server, None)
            log.warning("node %s: handing its %d unit(s) on %s to a node that reaches %s: this node's link to it "
                        "has been down %.0f s", self.name, sum(1 for _, s in blind if s == server), server, server, down_s)
        for key, down_s in blind.items():
            self._drop(key, f"handed to a node that reaches {key[1]}: this node's link to it has been down {down_s:.0f} s")
        with transaction(self.sessions) as session:
            release_units(session, leases)

    def _drop(self, key: Key, why: str) -> None:
        lease = self.leases.pop(key)
        self.deadline.pop(key, None)
        if key in self.working:
            self.working.discard(key)
            self.worker.stop(lease, why)


__all__ = ["LOOK_EVERY_S", "STOP_EARLY_S", "UNIT_TTL_S", "NodeRunner", "ProbesServers", "SeesServers", "UnitWorker"]
