"""A node's units run as engines: the :class:`~olive.engine.UnitWorker` of ``olive serve --node``.

The node runner (engine/_node.py) decides which units this node holds; for
each one it holds, :class:`UnitEngines` runs one :class:`Engine` with one
server link and a :class:`UnitScope`. Starting that engine *is* the
adoption: it loads the unit's open call rows (every token's: the dead
owner's too), connects, and reconciles them with Asterisk the way the engine
does after a reconnect (``CoreShowChannels``: calls still up are followed;
AstDB ``olive-outcome/<call id>``: calls that ended unseen are recorded with
their result; ``QueueStatus``: members), all before its first dial (a link
dials only once reconciled). Stopping it stops the dialing at once (its
``may_dial`` is already false when the lease ran out); calls in progress are
left to Asterisk and the next owner.

:func:`run_node` drives the runner: a step every second in a thread (its
statements are short and the event loop must keep reading AMI).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from olive.engine._engine import Engine, EngineState
from olive.engine._lease import DialingLease
from olive.engine._link import LinkState, PbxLink
from olive.engine._node import LOOK_EVERY_S, Key, NodeRunner
from olive.engine._probe import FIRST_LOGIN_S, ServerProbes
from olive.engine._unit_scope import UnitScope
from olive.store import UnitLease

log = logging.getLogger("olive.engine")

MakeEngine = Callable[[UnitScope], Engine]
TICKS_KEPT = 10_000


class NotDialing(DialingLease):
    """The lease of a scale-out node's API engine: it never dials (its units' engines do)."""

    NOTE = "this node dials through the units it holds (GET /pool), not through this engine"

    def acquire(self) -> bool:
        self.note = self.NOTE
        return True

    def tick(self) -> bool:
        self.note = self.NOTE
        return False

    @property
    def held(self) -> bool:
        return True  # not a fenced node: /ready does not report a lost lease

    def release(self) -> None:
        return None


class UnitEngines:
    """One engine per unit held. ``start``/``stop`` may be called from the runner's thread."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        make_engine: MakeEngine,
        *,
        retry_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loop = loop
        self.make_engine = make_engine
        self.retry_s = retry_s  # an engine that did not start is tried again this often, while the lease holds
        self.runner: NodeRunner | None = None  # set by run_node: may_dial asks it
        self.engines: dict[Key, Engine] = {}
        self._chains: dict[Key, asyncio.Future[None]] = {}  # each unit's starts and stops, in order
        self.started = 0
        self.stopped = 0
        self.ticks: deque[float] = deque(maxlen=TICKS_KEPT)  # seconds of the units' engines' last ticks
        self.failed_ticks = 0
        self.on_tick: Callable[[float, bool], None] | None = None  # each unit tick, on: the node's /metrics
        self.monotonic = monotonic
        self.since: dict[Key, float] = {}  # when each unit's current engine was made
        self.probes: ServerProbes | None = None  # this node's logins to every server (engine/_probe.py)

    def __repr__(self) -> str:
        return f"<UnitEngines {sorted(self.engines)}>"

    # -- UnitWorker -------------------------------------------------------------------
    def start(self, lease: UnitLease) -> None:
        self._later(lease.key, self._start(lease))

    def stop(self, lease: UnitLease, why: str) -> None:
        log.info("unit %s@%s (token %d): stopping: %s", *lease.key, lease.token, why)
        self._later(lease.key, self._stop(lease.key))

    # -- on the loop --------------------------------------------------------------------
    def _later(self, key: Key, coro: Coroutine[Any, Any, None]) -> None:
        def schedule() -> None:
            previous = self._chains.get(key)
            self._chains[key] = asyncio.ensure_future(self._after(previous, coro))

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            schedule()
        else:
            self.loop.call_soon_threadsafe(schedule)

    @staticmethod
    async def _after(
        previous: asyncio.Future[None] | None, coro: Coroutine[Any, Any, None]
    ) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        await coro

    def _may_dial(self, lease: UnitLease) -> Callable[[], bool]:
        def check() -> bool:
            runner = self.runner
            if runner is None:
                return False
            held = runner.leases.get(lease.key)
            return held is not None and held.token == lease.token and runner.may_dial(lease.key)

        return check

    def _holds(self, lease: UnitLease) -> bool:
        held = None if self.runner is None else self.runner.leases.get(lease.key)
        return held is not None and held.token == lease.token

    async def _start(self, lease: UnitLease) -> None:
        await self._stop(lease.key)  # a unit taken again (a new token) gets a new engine
        while True:
            engine = self.make_engine(UnitScope(lease, self._may_dial(lease)))
            engine.on_tick = self._ticked
            self.engines[lease.key] = engine
            self.since[lease.key] = self.monotonic()
            try:
                await engine.start()  # adoption: the unit's open calls, then reconcile with Asterisk
            except Exception as exc:
                self.engines.pop(lease.key, None)
                with contextlib.suppress(Exception):
                    await engine.stop()
                if not self._holds(lease):
                    log.warning("unit %s@%s: its engine did not start (%s); the lease is gone", *lease.key, exc)
                    return
                # Held and renewed, so nobody else may dial it: try again rather than hold it idle.
                log.warning("unit %s@%s: its engine did not start (%s); trying again in %gs", *lease.key, exc, self.retry_s)
                await asyncio.sleep(self.retry_s)
                continue
            self.started += 1
            log.info("unit %s@%s (token %d): engine started", *lease.key, lease.token)
            return

    def hangup(self, campaign_id: str) -> None:
        """A forced stop of ``campaign_id`` (engine/_unit_hangup.py): the engines of its units held
        here hang up the calls they follow. Safe from any thread; after the unit's start (adoption)."""

        def schedule() -> None:
            for key in sorted(k for k in {*self.engines, *self._chains} if k[0] == campaign_id):
                self._later(key, self._hangup(key))

        self.loop.call_soon_threadsafe(schedule)

    async def _hangup(self, key: Key) -> None:
        engine = self.engines.get(key)
        if engine is None or engine.state is not EngineState.RUNNING:
            return
        engine.invalidate()
        await engine.next_tick()  # it has read the stop, and its tick under way has sent its Originates
        hung_up = await engine.hangup_calls(key[0])
        log.info("unit %s@%s: forced stop: hung up %d call(s) in progress", *key, hung_up)

    def server_health(self) -> dict[str, tuple[str, str | None]]:
        """What this node's units' links see of each server they use: this node's view of it and a note
        (written with each renewal by ``olive.store.record_server_view``).

        ``up``: a link logged in, reconciled and its queue membership confirmed (the units dial);
        ``down``: no link there may dial yet (disconnected and reconnecting, reconciling, or adding
        the agents back to the queue). Servers of units whose engine has not started are left out.
        """
        seen: dict[str, tuple[str, str | None]] = {}
        now = self.monotonic()
        for key, engine in list(self.engines.items()):
            for name, link in list(engine.links.items()):
                if getattr(link.client, "connections", 1) == 0 and now - self.since.get(key, now) < FIRST_LOGIN_S:
                    continue  # not logged in yet, and not for long: no news of the server (a takeover's new engine)
                health = link_health(link)
                if seen.get(name, ("down", None))[0] == "down":
                    seen[name] = health
        return seen

    def probe_health(self) -> dict[str, tuple[str, str | None]]:
        """What this node's probes reach (engine/_probe.py): its view of the servers it holds no unit on."""
        return {} if self.probes is None else self.probes.health()

    def _ticked(self, seconds: float, failed: bool) -> None:
        self.ticks.append(seconds)
        self.failed_ticks += failed
        if self.on_tick is not None:
            self.on_tick(seconds, failed)

    def tick_summary(self) -> str:
        """The units' engines' recent tick times (for the node's log and the benchmark)."""
        if not self.ticks:
            return "no tick yet"
        ordered = sorted(self.ticks)
        def at(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

        return (
            f"{len(ordered)} unit ticks: median {at(0.5) * 1000:.1f} ms, p95 {at(0.95) * 1000:.1f} ms, "
            f"p99 {at(0.99) * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms; {self.failed_ticks} failed"
        )

    async def _stop(self, key: Key) -> None:
        self.since.pop(key, None)
        engine = self.engines.pop(key, None)
        if engine is None:
            return
        try:
            await engine.stop()
        except Exception as exc:  # the database away: the next owner adopts what was not stored
            log.warning("unit %s@%s: its engine stopped with an error: %s", *key, exc)
        self.stopped += 1

    async def stop_all(self) -> None:
        for key in list(self.engines):
            self._later(key, self._stop(key))
        chains = [c for c in self._chains.values() if not c.done()]
        if chains:
            await asyncio.gather(*chains, return_exceptions=True)


def link_health(link: PbxLink) -> tuple[str, str | None]:
    """A link's state as a server's health: ``up`` only once dialing may resume (docs/scale-out.md)."""
    if link.state is LinkState.READY:
        if link.membership_confirmed:
            return "up", None
        return "down", "reconciled; waiting for the queue members to be confirmed"
    if link.state is LinkState.RECONCILING:
        return "down", "reconnected; reconciling calls and queue members"
    if link.state is LinkState.SHUTTING_DOWN:
        return "down", "Asterisk is shutting down"
    return "down", "AMI connection lost; reconnecting"


async def run_node(runner: NodeRunner, units: UnitEngines, stopping: asyncio.Event) -> None:
    """Step the runner every :data:`LOOK_EVERY_S` until ``stopping``; then leave cleanly."""
    units.runner = runner
    if units.probes is not None:
        await units.probes.start()
    try:
        while not stopping.is_set():
            await asyncio.to_thread(runner.step)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), LOOK_EVERY_S)
    finally:
        await asyncio.to_thread(runner.leave)
        await units.stop_all()
        if units.probes is not None:
            await units.probes.close()
        log.info("node %s: %s", runner.name, units.tick_summary())


__all__ = ["MakeEngine", "NotDialing", "UnitEngines", "link_health", "run_node"]
