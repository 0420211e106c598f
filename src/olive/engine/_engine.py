"""The campaign engine: decide, then do the I/O.

One pump: only the engine's loop ticks. Each tick persists what the trackers
saw, brings campaigns and queue memberships in line with the store, asks each
campaign's pacer how many calls to place, claims those contacts and writes
their call rows. Every database step runs in the engine's own database thread
(``_in_db``), so the event loop keeps reading AMI and serving HTTP meanwhile;
each returns what to do, and the loop does it only after the commit: bus
events, pacer feeding, and the Originates, sent with nothing in between the
commit of their rows and their spawning. Operators' verbs (``Control``) run
their transactions in the same thread and ask the loop for a tick
(``next_tick``) instead of ticking themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import functools
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from olive import ami
from olive.ami import ServerConfig
from olive.calls import AgentActivity, AgentChange, CallChange, CallRecord, CallState
from olive.clock import Clock, SystemClock
from olive.compliance import ComplianceGuard, DialGuard, apply_dispositions
from olive.engine._bus import EventBus
from olive.engine._callbacks import OwnerRoutes
from olive.engine._campaigns import (
    CampaignStatus,
    Refreshed,
    finish_idle,
    new_runner,
    read_campaigns,
)
from olive.engine._control import Control
from olive.engine._dialing import Dial, connect_limit_s, place_dials
from olive.engine._health import FAILING_AFTER, EngineHealth, RateLimitedLog
from olive.engine._lease import DialingLease, LeaseHeld
from olive.engine._link import SHUTTING_DOWN, PbxLink
from olive.engine._live import LIVE_EVERY_S, live_figures
from olive.engine._members import MembershipSync
from olive.engine._persist import (
    DialIntent,
    apply_agent_changes,
    apply_call_changes,
    load_open_calls,
)
from olive.engine._preview import PREVIEW_CONTEXT, Previews
from olive.engine._runner import CampaignRunner
from olive.engine._set_aside import set_aside_refused
from olive.engine._stats import call_event
from olive.engine._unit_adopt import InTransit
from olive.engine._unit_scope import UnitScope
from olive.errors import Conflict
from olive.pacing import DialDecision
from olive.store import (
    Call,
    Campaign,
    EngineAgent,
    UnitLease,
    campaign_status,
    open_calls,
    publish_unit_live,
    release_stale_claims,
    transaction,
)

log = logging.getLogger("olive.engine")

Drained = tuple[PbxLink, list[CallChange], list[AgentChange]]
Effect = Callable[[], object]  # something to do on the loop once the database step committed
T = TypeVar("T")
# An Originate's answer (OriginateResponse) comes by the dial timeout at the latest;
# this long after it, olive asks Asterisk whether the call exists at all.
ORIGINATE_MARGIN_S = 5.0
# The most dials one tick places: a pacer's larger "dial N" (a campaign starting with many
# idle agents) is placed over consecutive ticks, each deciding again, so no tick holds the
# database thread (and the first Originates) for hundreds of contacts at once.
MAX_DIALS_PER_TICK = 50


class EngineState(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"

    def __repr__(self) -> str:
        return f"<EngineState.{self.name}>"


class Engine:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        servers: Mapping[str, ServerConfig],
        *,
        clock: Clock | None = None,
        tick_s: float = 0.5,
        min_tick_s: float = 0.05,
        settle_s: float = 1.0,
        guard: DialGuard | None = None,
        bus: EventBus | None = None,
        client_factory: Callable[[str, ServerConfig], ami.AMIClient] | None = None,
        pause_after_missed: int = 2,
        lease: DialingLease | None = None,
        unit: UnitScope | None = None,
        max_dials_per_tick: int = MAX_DIALS_PER_TICK,
    ) -> None:
        """``tick_s``: the longest wait between two ticks, on the engine's clock. The loop also
        ticks as soon as an AMI event changes what a pacer reads (an agent freed, a call
        answered or ended) or a timed wrap-up ends, but never sooner than ``min_tick_s``
        after the previous tick ended, so a storm of events cannot spin it.
        ``pause_after_missed``: rings an agent may let time out in a row before olive pauses them (0: never).
        ``lease``: the database's dialing lease (``olive serve`` and ``olive run`` always pass one).
        ``unit``: run one unit of several nodes instead (``olive serve --scale-out``, engine/_unit.py):
        its campaign only, its calls only, every dial transaction fenced by its lease.
        ``max_dials_per_tick``: a tick places at most this many calls; when the pacers asked for
        more, the next tick comes at once (after ``min_tick_s``) and decides again, counting
        the calls just placed as on their way."""
        if max_dials_per_tick < 1:
            raise ValueError(f"max_dials_per_tick must be at least 1, got {max_dials_per_tick}")
        self.max_dials_per_tick = max_dials_per_tick
        self.sessions = sessions
        self.lease = lease
        self.unit = unit
        # A unit's first reconciliation: calls whose Originate may still be on its way (engine/_unit_adopt.py).
        self.in_transit = InTransit(ORIGINATE_MARGIN_S) if unit is not None else None
        self.pause_after_missed = pause_after_missed
        self.clock = clock or SystemClock()
        self.tick_s = tick_s
        self.min_tick_s = min_tick_s
        self.guard = guard if guard is not None else _default_guard()
        self.bus = bus or EventBus()
        self.state = EngineState.CREATED
        self.runners: dict[str, CampaignRunner] = {}
        self.links: dict[str, PbxLink] = {}
        self.call_campaign: dict[str, str] = {}  # call id -> campaign id, for calls in progress
        self.status_note: dict[str, str] = {}  # campaign id -> why it is not dialing, if it is not
        factory = client_factory or _default_client
        for name, config in servers.items():
            link = PbxLink(name, factory(name, config), self.clock, settle_s=settle_s)
            self.links[name] = link
        self.callbacks = OwnerRoutes(self)  # owned callbacks to their owner
        self.previews = Previews(self)  # preview mode: the agents dial
        self.members = MembershipSync(self)
        self.control = Control(self, sessions)
        for link in self.links.values():
            link.on_ready = self.members.on_link_ready
            link.on_change = self._on_change
        self._loop_task: asyncio.Task[None] | None = None
        self._io: set[asyncio.Task[Any]] = set()
        self._last_tick: float | None = None
        self.ticks = 0
        self.health = EngineHealth()
        self._isolating = False  # storing changes one by one to find one the database refuses
        self._tick_log = RateLimitedLog(log, every_s=30.0)
        self._live_log = RateLimitedLog(log, every_s=30.0)
        self._live_due = -float("inf")  # on the engine's clock: a unit's next publication of its figures
        self.on_tick: Callable[[float, bool], None] | None = None  # (seconds, failed) after each loop tick
        self.refresh_s = 1.0  # real seconds between reads of campaigns and agents (scaled by the clock)
        self._refresh_at = -float("inf")  # on the engine's clock
        self._periodic_at = -float("inf")  # on the engine's clock: the next tick that also does what needs no decision
        # invalidate() bumps the first; a refresh that read the store after a bump
        # records it in the second (an operator's change during a tick's read is not lost).
        self._changes_asked = 0
        self._changes_read = -1
        # The engine's database work runs here, one step at a time, off the event loop.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="olive-engine-db")
        # A tick's store of what it saw runs beside its dials (see tick()): on PostgreSQL in a
        # second thread, with its own connection; SQLite writes one transaction at a time, so
        # there it runs first in the same thread.
        bind = sessions.kw.get("bind")
        beside = getattr(getattr(bind, "dialect", None), "name", None) == "postgresql"
        self._store_db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="olive-engine-db-store") if beside else self._db
        self._wake = asyncio.Event()  # tick now: an operator asked, or an event changed a pacer's input
        self._tick_ended: float | None = None  # on the engine's clock: the minimum spacing counts from here
        self.parked = asyncio.Event()  # the loop waits between ticks (tests wait for it, not for time)
        self.event_ticks = 0  # loop ticks that an event (or a wrap-up's end) brought forward
        self._tick_waiters: list[asyncio.Future[None]] = []
        self.campaigns: list[Campaign] = []  # running and paused, as last read (detached; agents not loaded)
        self.campaign_agents: dict[str, list[EngineAgent]] = {}  # campaign id -> its agents, as last read
        self._agent_ids: dict[str, str] = {}  # interface -> agent id
        self._own: tuple[object, frozenset[str]] = (None, frozenset())  # campaign_agents -> their interfaces
        self.olive_interfaces: set[str] = set()  # every agent's interface: members olive owns

    def __repr__(self) -> str:
        return f"<Engine {self.state.value} campaigns={len(self.runners)} links={list(self.links)}>"

    # -- lifecycle ------------------------------------------------------------------
    async def start(self, *, run: bool = True) -> None:
        """Load the calls left open, connect, and (``run``) start the pump. Tests that
        drive ticks themselves pass ``run=False`` and call :meth:`tick`."""
        if self.state is not EngineState.CREATED:
            raise RuntimeError(f"engine already {self.state.value}")
        # First: a second node must not even release the live node's contact claims.
        if self.lease is not None and not await self._in_db(self.lease.acquire):
            raise LeaseHeld(self.lease.note or "the dialing lease is held by another node")
        await self._in_db(self._load_open_calls)
        self.state = EngineState.RUNNING
        for link in self.links.values():
            await link.client.start()
        if run:
            self._loop_task = asyncio.create_task(self._loop(), name="olive-engine")

    def _load_open_calls(self) -> None:
        with transaction(self.sessions) as session:
            released = release_stale_claims(session)
            if released:
                log.info("released %d contact claim(s) whose call never started", len(released))
            for name, link in self.links.items():
                self._remember_open_calls(session, name)
                for record in load_open_calls(session, name):
                    if record.call_id in self.call_campaign:
                        link.tracker.adopt(record)

    def _remember_open_calls(self, session: Session, server: str) -> None:
        for call in open_calls(session, server):
            if self.unit is None or self.unit.campaign_id == call.campaign_id:  # a unit adopts its own
                self.call_campaign[call.id] = call.campaign_id
                if self.in_transit is not None:
                    self.in_transit.remember(call, self.clock.now())

    async def _in_db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` (database work) in the engine's database thread; the loop goes on meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._db, functools.partial(fn, *args))

    async def run_db(self, fn: Callable[..., T], *args: Any) -> T:
        """Database work of the engine's collaborators (operator verbs), in the engine's database thread."""
        return await self._in_db(fn, *args)

    async def stop(self, *, hangup: bool = False) -> None:
        """Stop dialing and disconnect. Calls in progress go on in Asterisk (or are hung up).

        The tick under way finishes (its committed calls get their Originates); then
        what the trackers still hold is stored. If that last write fails, the error is
        logged and raised once the links are closed and the lease released.
        """
        if self.state in (EngineState.STOPPING, EngineState.STOPPED):
            return
        if hangup:
            await self.hangup_calls(None)
        self.state = EngineState.STOPPING
        self._wake.set()
        if self._loop_task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._loop_task), 30.0)
            except TimeoutError:
                log.error("the engine's last tick did not end within 30 s; cancelling it")
                self._loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._loop_task
        self._release_tick_waiters()
        if self._io:
            await asyncio.wait(self._io, timeout=5)
        failure: Exception | None = None
        try:
            await self._persist_only()
        except Exception as exc:
            log.exception("stopping: the last changes seen could not be stored")
            failure = exc
        for link in self.links.values():
            await link.client.close()
        if self.lease is not None:
            await self._in_db(self.lease.release)
        self._db.shutdown(wait=False)
        self._store_db.shutdown(wait=False)
        self.state = EngineState.STOPPED
        if failure is not None:
            raise failure

    async def _loop(self) -> None:
        while self.state is EngineState.RUNNING:
            waiters, self._tick_waiters = self._tick_waiters, []
            # Events from here on (seen while this tick waits for the database) wake the next pause.
            self._wake.clear()
            started, failed = time.perf_counter(), False
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failed = True
                self.health.tick_failed(exc)
                self._tick_log.warning("engine tick failed; retrying next tick", exc_info=True)
            else:
                self.health.tick_ok()
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
            if self.on_tick is not None:  # metrics
                self.on_tick(time.perf_counter() - started, failed)
            self._tick_ended = self.clock.now()
            self.parked.set()
            try:
                await self._pause()
            finally:
                self.parked.clear()

    def _on_change(self) -> None:
        """An AMI event changed what a pacer reads: decide now, not at the next period."""
        self._wake.set()

    async def _pause(self) -> None:
        """Wait for the next tick, on the engine's clock: a tick period at most; less when an
        operator asks for a tick, an event changes a pacer's input or a timed wrap-up ends
        (then no sooner than ``min_tick_s`` after the last tick ended)."""
        if self._tick_waiters or self.state is not EngineState.RUNNING:
            return
        now = self.clock.now()
        wait_s = self.tick_s
        due = min((d for link in self.links.values() if (d := link.members.next_due()) is not None), default=None)
        if due is not None:
            wait_s = min(wait_s, max(due - now, self.min_tick_s))
        if not self._wake.is_set():
            sleeper = asyncio.ensure_future(self.clock.sleep(wait_s))
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait((sleeper, woken), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                woken.cancel()
        if self._tick_waiters or self.state is not EngineState.RUNNING:
            return
        ended = self._tick_ended if self._tick_ended is not None else now
        early = ended + self.tick_s - self.clock.now() > 1e-9
        if early:
            self.event_ticks += 1
            spacing = ended + self.min_tick_s - self.clock.now()
            if spacing > 0:
                await self.clock.sleep(spacing)

    async def next_tick(self) -> None:
        """Have the loop tick now and wait for that tick to end. Without a loop
        (``start(run=False)``, or not started) the caller's tick is the only pump."""
        if self._loop_task is None or self._loop_task.done() or self.state is not EngineState.RUNNING:
            await self.tick()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tick_waiters.append(waiter)
        self._wake.set()
        await waiter

    def _release_tick_waiters(self) -> None:
        waiters, self._tick_waiters = self._tick_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- one step ---------------------------------------------------------------------
    def invalidate(self) -> None:
        """Re-read campaigns and agents from the store on the next tick (an operator changed them)."""
        self._changes_asked += 1

    async def tick(self) -> None:
        """One turn of the pump: store what was seen while deciding and writing the dials, then
        do the I/O.

        The store and the dials are two transactions on different rows (the ended calls and
        their contacts, the agents; the new calls and the contacts they claim). The pacers hear
        of what a store wrote only once it is committed (:meth:`_persist_drained`), so a tick
        decides on what the stores before it committed, while the trackers say which agents
        are free and which calls are on their way as of now. On PostgreSQL the store runs in
        a second database thread beside the timed re-read of campaigns and agents and the
        dials: a tick takes the longer, not the sum (tests/engine/test_store_beside_dials.py)."""
        now = self.clock.now()
        dt = 0.0 if self._last_tick is None else max(0.0, now - self._last_tick)
        self._last_tick = now
        self.ticks += 1
        asked = self._changes_asked
        refresh = now >= self._refresh_at or self._changes_read != asked
        drained = [(link, *link.drain()) for link in self.links.values()]
        if self.in_transit is not None:
            drained = [(link, self.in_transit.keep(link, calls, now), agents) for link, calls, agents in drained]
        # Most ticks touch the database only when something happened. The store feeds the
        # runners of its start: one the re-read adds meanwhile restores its counts afterwards.
        storing = any(calls or agents for _, calls, agents in drained)
        stored = self._start_store(drained, now) if storing else None
        beside = storing and self._store_db is not self._db
        dials: list[Dial] = []
        store_failed: Exception | None = None
        try:
            if refresh:
                # Campaigns and agents, on a timer (and when an operator acts). A campaign's new
                # runner restores the live answers committed so far: after this tick's store has
                # committed if one runs beside the read (below), else at once (it then hears of
                # the changes the next stores commit, never of one twice).
                self._apply_refresh(await self._in_db(self._read_refresh, now, not beside), now)
                self._changes_read = max(self._changes_read, asked)
            self._account(dt)
            dialing = await self._may_dial()
            decisions = self._decide(now) if dialing else []
            decisions, more = bound_dials(decisions, self.max_dials_per_tick)
            if more:  # the rest at the next tick, which decides again: wake it now
                self._wake.set()
            if decisions:
                dials, notes = await self._in_db(self._place_dials, decisions, now)
                self.status_note.update(notes)
        finally:
            try:
                if stored is not None:  # the store's effects (in memory), or its changes back for the next tick
                    try:
                        await self._persist_drained(drained, now, stored, isolate=False)
                    except Exception as exc:
                        store_failed = exc
            finally:
                # Committed: these calls now exist; whatever became of the store, nothing else
                # happens before their Originates are under way (sent once both transactions
                # ended, so the I/O a tick starts comes in the same order however long each took).
                # Each is tracked before this tick returns, so the next decision counts it as on
                # its way even if its Originate has not been written yet.
                self.send_dials(dials)
        if store_failed is not None:
            await self._isolate_if_failing(now)  # after the Originates: it may store change by change
            raise store_failed
        if refresh and beside:
            await self._add_new_runners(now)
        if refresh and dialing:  # a fenced node cannot see the other node's calls
            await self._finish_campaigns(now)
        # What needs no decision runs once a period: ticks an event brought forward only decide.
        periodic = refresh or now >= self._periodic_at
        if periodic:
            self._periodic_at = now + self.tick_s - 1e-6
        for link in self.links.values():  # calls already placed are followed to their end, lease or not
            if periodic and link.ready and (overdue := link.tracker.overdue(now)):
                self._spawn(link.check_calls(overdue))
            if link.shutdown_probe_due(now):
                self._spawn(link.probe_shutdown())
        if self.unit is not None and dialing and now >= self._live_due:
            await self._publish_live(now)
        if not dialing:
            return
        if periodic:
            for op in self.members.plan(self.campaigns, self.olive_interfaces, now):
                self._spawn(op)
        await self.previews.tick(now)

    def send_dials(self, dials: list[Dial]) -> None:
        """Committed calls: track each and send its Originate (never re-sent)."""
        sent_at = self.clock.now()
        for server, intent, plan in dials:
            self.call_campaign[intent.call_id] = intent.campaign_id
            link = self.links[server]
            answer_by = sent_at + float(plan.get("dial_timeout_s", 30)) + ORIGINATE_MARGIN_S
            link.tracker.originate(
                intent.call_id, action_id=intent.call_id, dial_string=intent.agent_first or intent.dial_string,
                now=sent_at, answer_by=answer_by, agent_first=intent.agent_first,
            )
            runner = self.runners.get(intent.campaign_id)
            if runner is not None:
                runner.dial_placed(sent_at)
            self._spawn(self._originate(link, intent, plan))

    def _place_dials(self, decisions: list[tuple[Campaign, DialDecision]], now: float) -> tuple[list[Dial], dict[str, str]]:
        """In the database thread: claim the contacts and write the call rows, in one transaction."""
        dials: list[Dial] = []
        notes: dict[str, str] = {}
        with transaction(self.sessions) as session:
            if self.unit is not None:  # fenced first: a node that lost the unit writes no dial
                decisions = self.unit.reserve(session, decisions)
            for campaign, decision in decisions:
                # Read before an operator's pause or stop committed (the same thread runs
                # theirs): the store says, right before the claim.
                if campaign_status(session, campaign.id) != "running":
                    continue
                placed, notes[campaign.id] = place_dials(
                    self.guard, session, campaign, decision.dials, decision.reason, now, self.callbacks
                )
                dials.extend(placed)
            if self.unit is not None:
                dials = self.unit.mark(session, dials)
        return dials, notes

    async def _may_dial(self) -> bool:
        """Only the holder of the database's dialing lease dials (and manages queue members)."""
        if self.unit is not None:
            return self._unit_may_dial(self.unit)
        lease = self.lease
        # The database thread only when a renewal is due: between renewals two times decide.
        if lease is None or (await self._in_db(lease.tick) if lease.renewal_due() else lease.may_dial(lease.wall())):
            return True
        note = f"not dialing: {lease.note or 'this node does not hold the dialing lease'}"
        for campaign in self.campaigns:
            if campaign.status == "running":
                self.status_note[campaign.id] = note
        return False

    def _unit_may_dial(self, unit: UnitScope) -> bool:
        """A unit's engine dials while its node's lease is good by the node's own clock."""
        if unit.may_dial():
            return True
        for campaign in self.campaigns:
            if campaign.status == "running":
                self.status_note[campaign.id] = f"not dialing: {unit.describe()} is not held by this node now"
        return False

    async def _publish_live(self, now: float) -> None:
        """A unit's engine: its campaign's figures, for every node's API (engine/_live.py)."""
        assert self.unit is not None
        self._live_due = now + LIVE_EVERY_S * self.clock.scale
        campaign_id = self.unit.campaign_id
        if campaign_id not in self.runners:
            return  # neither running nor paused: nothing live to say
        figures = live_figures(self.status(campaign_id))
        try:
            await self._in_db(self._write_live, self.unit.lease, figures)
        except Exception as exc:  # the lease lost (StaleLease), the database away: the figures age into stale
            self._live_log.warning("%s: live figures not published: %s", self.unit.describe(), exc)

    def _write_live(self, lease: UnitLease, figures: dict[str, Any]) -> None:
        with transaction(self.sessions) as session:
            publish_unit_live(session, lease, figures)  # fenced: refused unless the lease is still ours

    async def _persist_only(self) -> None:
        drained = [(link, *link.drain()) for link in self.links.values()]
        now = self.clock.now()
        await self._persist_drained(drained, now, self._start_store(drained, now))

    def _start_store(self, drained: list[Drained], now: float) -> asyncio.Future[list[Effect]]:
        """Submit the store of ``drained`` to its database thread now (ahead of the tick's other
        database steps where they share one thread); :meth:`_persist_drained` waits for it. It
        feeds the runners there are now (a re-read may change ``self.runners`` meanwhile)."""
        return asyncio.get_running_loop().run_in_executor(
            self._store_db, self._store_drained, drained, now, dict(self.runners)
        )

    async def _persist_drained(
        self, drained: list[Drained], now: float, stored: asyncio.Future[list[Effect]], *, isolate: bool = True
    ) -> None:
        """Wait for the store of what the trackers saw; only after its commit feed the pacers
        and the event bus.

        If the transaction fails, the changes go back to their links for the next tick,
        so no call record is lost and no pacer hears of a change twice (and, with ``isolate``,
        after failures in a row, the one the database refuses is looked for).
        """
        try:
            effects = await stored
        except Exception:
            for link, calls, agents in drained:
                link.requeue(calls, agents)
            if isolate:
                await self._isolate_if_failing(now)
            raise
        for effect in effects:
            effect()

    async def _isolate_if_failing(self, now: float) -> None:
        """After failed stores in a row, store the waiting changes one by one and set aside any
        the database refuses (engine/_set_aside.py)."""
        if not self._isolating and self.health.tick_failures_in_a_row + 1 >= FAILING_AFTER:
            self._isolating = True
            try:
                await set_aside_refused(self, now)
            finally:
                self._isolating = False

    def _store_drained(
        self, drained: list[Drained], now: float, runners: Mapping[str, CampaignRunner] | None = None
    ) -> list[Effect]:
        """In the store's database thread: one transaction; returns what to do after its commit."""
        effects: list[Effect] = []
        with transaction(self.sessions) as session:
            self._persist(session, drained, effects, runners)
        return effects

    def _read_refresh(self, now: float, new_runners: bool = True) -> Refreshed:
        """In the database thread: the campaigns and agents as they are now (``new_runners``:
        with a runner for each campaign that has none)."""
        with transaction(self.sessions) as session:
            return read_campaigns(session, now, set(self.runners), self.unit, new_runners=new_runners)

    async def _add_new_runners(self, now: float) -> None:
        """Runners for the campaigns a re-read beside a store found without one, now that the
        store committed; they dial from the next tick, brought forward."""
        missing = [c for c in self.campaigns if c.id not in self.runners]
        if not missing:
            return
        runners = await self._in_db(self._new_runners, missing, now)
        for campaign in missing:  # within the tick: no re-read came meanwhile
            self._add_runner(campaign, runners[campaign.id], now)
        self._wake.set()

    def _add_runner(self, campaign: Campaign, runner: CampaignRunner, now: float) -> None:
        self.runners[campaign.id] = runner
        self.bus.publish("campaign", now, {"campaign_id": campaign.id, "status": campaign.status}, campaign.id)

    def _new_runners(self, campaigns: list[Campaign], now: float) -> dict[str, CampaignRunner]:
        with transaction(self.sessions) as session:
            return {c.id: new_runner(session, c, now, self.unit) for c in campaigns}

    async def persist_now(self, drained: list[Drained], now: float) -> None:
        """Store ``drained`` (in the store's database thread) and do its effects (the set-aside search)."""
        effects = await self._start_store(drained, now)
        for effect in effects:
            effect()

    def _persist(
        self, session: Session, drained: list[Drained], effects: list[Callable[[], object]],
        runners: Mapping[str, CampaignRunner] | None = None,
    ) -> None:
        runners = self.runners if runners is None else runners
        own = self._own_interfaces()
        for link, calls, agents in drained:
            if agents:
                # Every unit engine on a server sees every agent's events there: each writes its own
                # campaign's agents (an agent in two campaigns, both units), in id order against
                # deadlocks (olive.store.update_agents). Until its first read of them, all.
                mine = agents if own is None else [c for c in agents if c.status.interface in own]
                for agent in apply_agent_changes(session, mine, lock_in_order=self.unit is not None).values():
                    event = {"agent_id": agent.id, "name": agent.name, "state": agent.state}
                    effects.append(functools.partial(self.bus.publish, "agent", self.clock.now(), event))
                for agent_change in agents:
                    owner = self.members.owner(agent_change.status)
                    if owner is not None and (runner := runners.get(owner)) is not None:
                        effects.append(functools.partial(runner.agent_changed, agent_change))
                    if self._missed_too_many(agent_change):
                        agent_id = self._agent_ids[agent_change.status.interface]
                        effects.append(functools.partial(self._pause_for_missed_rings, agent_id, agent_change.status.missed_in_a_row))
            if not calls:
                continue
            ended_ids: list[str] = []
            for ended in apply_call_changes(session, calls, self._agent_ids):
                effects.append(functools.partial(self.call_campaign.pop, ended.record.call_id, None))
                if ended.record.answered_at is not None and link.ready:
                    # Seen to the end: its result in AstDB (for olive's absence) is not needed.
                    effects.append(functools.partial(self._forget_result, link, ended.record.call_id))
                ended_ids.append(ended.record.call_id)
                done = ended.record
                if done.agent_first and done.not_placed and done.agent_answered_at is None:
                    # Preview, agent first: the agent's phone did not answer their own Dial click.
                    missed = self._agent_ids.get(done.agent_first)
                    if missed is not None:
                        effects.append(functools.partial(self.previews.agent_missed, missed))
            self._calls_ended(session, ended_ids)
            for change in calls:
                campaign_id = self.call_campaign.get(change.record.call_id) or self._campaign_of(session, change.record)
                if campaign_id is not None and (runner := runners.get(campaign_id)) is not None:
                    effects.append(functools.partial(runner.call_changed, change))
                if change.record.state is not change.previous:  # the stream tells new states, not every AMI event
                    effects.append(functools.partial(self.bus.publish, "call", self.clock.now(), call_event(change), campaign_id))

    def _own_interfaces(self) -> frozenset[str] | None:
        """A unit engine's campaign's agents (None: a classic engine, or not read yet: every agent)."""
        agents = self.campaign_agents
        if self.unit is None or not agents:
            return None
        if self._own[0] is not agents:  # re-read: a new dict (the refresh keeps it while unchanged)
            self._own = (agents, frozenset(a.interface for listed in agents.values() for a in listed))
        return self._own[1]

    def _forget_result(self, link: PbxLink, call_id: str) -> None:
        self._spawn(link.forget_result(call_id))

    def _missed_too_many(self, change: AgentChange) -> bool:
        status = change.status
        return (
            0 < self.pause_after_missed <= status.missed_in_a_row
            and change.previous is AgentActivity.RINGING
            and status.activity is not AgentActivity.RINGING
            and not status.paused
            and status.interface in self._agent_ids
        )

    def _pause_for_missed_rings(self, agent_id: str, missed: int) -> None:
        """Each ring an agent lets time out costs a customer the 2-second limit: pause
        them, with the reason, until they say they are ready again."""
        log.warning("agent %s missed %d calls in a row: pausing them", agent_id, missed)

        async def pause() -> None:
            with contextlib.suppress(Conflict):  # logged out meanwhile
                await self.control.pause_agent(agent_id, f"missed {missed} calls in a row")

        self._spawn(pause())

    def _calls_ended(self, session: Session, call_ids: list[str]) -> None:
        """A disposition the agent saved while the call was up takes effect now that it has
        ended and its contact is released (whatever the guard: it is no dial check). One
        statement for the tick's ended calls (most have no disposition)."""
        if call_ids:
            apply_dispositions(session, call_ids, self.clock.now())

    def _campaign_of(self, session: Session, record: CallRecord) -> str | None:
        call = session.get(Call, record.call_id)
        return call.campaign_id if call else None

    def _apply_refresh(self, refreshed: Refreshed, now: float) -> None:
        """On the loop, after the commit: the campaigns and agents as just read."""
        self._refresh_at = now + self.refresh_s * self.clock.scale
        self._agent_ids = refreshed.agent_ids
        # Kept when read the same: the membership plan has nothing to do while they are
        # (and their equal check costs far less than its plan over every agent).
        if self.olive_interfaces != (interfaces := set(refreshed.agent_ids)):
            self.olive_interfaces = interfaces
        live = {c.id for c in refreshed.campaigns}
        for campaign_id in list(self.runners):
            if campaign_id not in live:
                del self.runners[campaign_id]
        for campaign in refreshed.campaigns:
            plan = campaign.plan.snapshot()
            runner = self.runners.get(campaign.id)
            if runner is None:
                runner = refreshed.new_runners.get(campaign.id)
                if runner is None:  # appeared and vanished meanwhile: built next time
                    continue
                self._add_runner(campaign, runner, now)
            else:
                runner.update_plan(plan, campaign.compliance_profile)
            link = self.links.get(campaign.server)
            if link is not None:
                link.queues.add(campaign.queue)
                link.members.wrapup_s = max(link.members.wrapup_s, float(plan.get("wrapup_s", 0.0)))
        for link in self.links.values():
            # A ring counts as missed only if it lasted the whole connect limit: a shorter one
            # was cut by the customer's limit.
            limits = [connect_limit_s(c.plan.snapshot()) for c in refreshed.campaigns if self.links.get(c.server) is link]
            link.members.full_ring_ms = round(1000 * min(limits, default=0))
        self.campaigns = refreshed.campaigns
        if self.campaign_agents != refreshed.agents:
            self.campaign_agents = refreshed.agents
        self.callbacks.refreshed(refreshed.campaigns, refreshed.agent_ids, refreshed.owner_calls)

    def _account(self, dt: float) -> None:
        if dt <= 0:
            return
        for campaign in self.campaigns:
            runner = self.runners.get(campaign.id)
            if runner is not None:
                runner.account_time(self.members.agents_of(campaign), dt)

    def _decide(self, now: float) -> list[tuple[Campaign, DialDecision]]:
        """Ask each running campaign's pacer how many calls to place; pure, no I/O."""
        out: list[tuple[Campaign, DialDecision]] = []
        for campaign in self.campaigns:
            if campaign.status != "running":
                if campaign.status == "paused":
                    self.status_note[campaign.id] = "paused: no new calls; calls in progress go on"
                continue
            link = self.links.get(campaign.server)
            if link is None:
                self.status_note[campaign.id] = f"no Asterisk server named {campaign.server!r} is configured"
                continue
            if not link.ready:
                self.status_note[campaign.id] = f"waiting for Asterisk {link.name} ({link.state.value})"
                continue
            if not link.membership_confirmed and (missing := self.members.waiting_for(campaign)):
                self.status_note[campaign.id] = (
                    f"waiting for Asterisk {link.name} to have {missing} agent(s) back in queue {campaign.queue}"
                    " (added again after connecting)"
                )
                continue
            if self.unit is not None and (idle := self.unit.idle_note(campaign, len(self.campaign_agents.get(campaign.id, ())))):
                self.status_note[campaign.id] = idle
                continue
            runner = self.runners.get(campaign.id)
            if runner is None:  # read beside a store: its runner comes once that store committed
                self.status_note[campaign.id] = "starting: counting its recent calls"
                continue
            calls = [r for r in link.tracker.active() if self.call_campaign.get(r.call_id) == campaign.id]
            decision = runner.decide(runner.snapshot(now, self.members.agents_of(campaign), calls))
            if decision.dials > 0:
                out.append((campaign, decision))
            else:
                self.status_note[campaign.id] = decision.reason
        return out

    async def _finish_campaigns(self, now: float) -> None:
        """A running campaign with no call in progress and no contact left is finished."""
        busy = set(self.call_campaign.values())
        idle = [c.id for c in self.campaigns if c.status == "running" and c.id not in busy]
        if not idle:
            return
        finished = await self._in_db(self._finish_idle, idle, now)
        for campaign in self.campaigns:  # committed: now say so
            if campaign.id in finished:
                campaign.status = "finished"
                self.status_note[campaign.id] = "finished: every contact is done or exhausted"
                self.bus.publish("campaign", now, {"campaign_id": campaign.id, "status": "finished"}, campaign.id)
                log.info("campaign %s finished", finished[campaign.id])

    def _finish_idle(self, idle: list[str], now: float) -> dict[str, str]:
        with transaction(self.sessions) as session:
            return finish_idle(session, idle, now)

    # -- the read-only view ---------------------------------------------------------
    def status(self, campaign_id: str) -> CampaignStatus:
        """What the engine knows of a campaign now, for the API and reports (read-only)."""
        runner = self.runners.get(campaign_id)
        return CampaignStatus.of(campaign_id, self.status_note.get(campaign_id), runner, self.clock.now())

    def note(self, campaign_id: str) -> str | None:
        """Why the campaign is not dialing, if it is not (as of the last tick)."""
        return self.status_note.get(campaign_id)

    def servers(self) -> dict[str, str]:
        """Each configured Asterisk server and its link's health (``ready``, ``degraded``, ...)."""
        return {name: link.health for name, link in self.links.items()}

    # -- I/O --------------------------------------------------------------------------
    def spawn(self, coro: Any) -> None:
        """Run ``coro`` (AMI I/O) in the background; stop() waits for it."""
        self._spawn(coro)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._io.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._io.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("engine task %s failed", task.get_coro(), exc_info=exc)

    async def _originate(self, link: PbxLink, intent: DialIntent, plan: Mapping[str, Any]) -> None:
        """Send one Originate the tick already recorded and tracks; never re-sent."""
        if self.unit is not None and not self.unit.may_dial():
            self._unit_lost_before_send(link, intent)
            return
        try:
            act = ami.originate_action(
                ami.OriginateRequest(
                    call_id=intent.call_id,
                    # Preview mode, agent first: the agent's phone, into [olive-preview] (which dials the customer).
                    channel=intent.agent_first or intent.dial_string,
                    context=PREVIEW_CONTEXT if intent.agent_first else str(plan.get("context") or "olive-dialer"),
                    dial_timeout_s=float(plan["dial_timeout_s"]),
                    caller_id=plan.get("caller_id"),
                    variables=intent.variables,
                )
            ).with_action_id(intent.call_id)
            await link.client.send_action(act)
        except (ami.AMIActionError, ami.AMIValueError) as exc:
            message = exc.response.message or "" if isinstance(exc, ami.AMIActionError) else str(exc)
            passing = message == SHUTTING_DOWN  # no call placed, and none until Asterisk is back
            if passing:
                link.asterisk_shutting_down(f"Originate refused: {message}")
            link.call_changes.extend(
                link.tracker.originate_refused(intent.call_id, self.clock.now(), message or "error", passing=passing)
            )
        except (ami.AMIConnectionError, ami.AMITimeout) as exc:
            # Asterisk may or may not have the call: never re-send; reconciliation decides.
            log.warning("Originate %s unconfirmed (%s); will reconcile", intent.call_id, exc)
            link.tracker.lost_sight([intent.call_id])

    def _unit_lost_before_send(self, link: PbxLink, intent: DialIntent) -> None:
        """The unit's lease ran out between the dial's commit and its Originate (the node froze,
        say): not sent, since a successor may already have adopted the unit's calls without it."""
        assert self.unit is not None
        why = f"not sent: {self.unit.describe()} was no longer held by this node"
        log.warning("call %s: %s", intent.call_id, why)
        link.call_changes.extend(link.tracker.originate_refused(intent.call_id, self.clock.now(), why, passing=True))

    async def hangup_calls(self, campaign_id: str | None) -> int:
        """Hang up the calls in progress (of one campaign, or all): a forced stop."""
        count = 0
        for link in self.links.values():
            for record in link.tracker.active():
                if campaign_id is not None and self.call_campaign.get(record.call_id) != campaign_id:
                    continue
                if record.state is CallState.ENDED or not record.channel:
                    continue
                link.tracker.cancel(record.call_id)
                with contextlib.suppress(ami.AMIError):
                    await link.client.send_action(ami.action("Hangup", Channel=record.channel, Cause=16), check=False)
                    count += 1
        return count


def bound_dials(
    decisions: list[tuple[Campaign, DialDecision]], most: int
) -> tuple[list[tuple[Campaign, DialDecision]], bool]:
    """At most ``most`` dials in all, shared among the campaigns in proportion to what each
    asked (each that asked gets at least one while any are left); and whether any were held back."""
    wanted = sum(d.dials for _, d in decisions)
    if wanted <= most:
        return decisions, False
    out: list[tuple[Campaign, DialDecision]] = []
    left = most
    for campaign, decision in decisions:
        n = min(left, decision.dials, max(1, decision.dials * most // wanted))
        left -= n
        if n > 0:
            note = f"{decision.reason}; {n} placed this tick (at most {most} a tick), the rest decided again next tick"
            out.append((campaign, dataclasses.replace(decision, dials=n, reason=note)))
    return out, True


def _default_guard() -> DialGuard:
    """Compliant by default: pass ``guard=AllowAll()`` only in tests about something else."""
    return ComplianceGuard()


def _default_client(name: str, config: ServerConfig) -> ami.AMIClient:
    return ami.AMIClient(config.host, config.port, config.username, config.secret, events=config.events, name=name)


__all__ = ["MAX_DIALS_PER_TICK", "ORIGINATE_MARGIN_S", "Engine", "EngineState", "bound_dials"]
