"""The campaign engine: decide, then do the I/O.

Each tick is one synchronous step inside one database transaction: persist
what the trackers saw, bring campaigns and queue memberships in line with
the store, ask each campaign's pacer how many calls to place, claim those
contacts and write their call rows. Only after the commit does the engine
send the Originates (and queue actions), outside any transaction. Between
ticks the AMI pumps feed the pure trackers.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from olive import ami
from olive.calls import AgentActivity, AgentChange, CallChange, CallRecord, CallState
from olive.clock import Clock, SystemClock
from olive.engine._bus import EventBus
from olive.engine._control import Control
from olive.engine._dialing import Dial, place_dials
from olive.engine._guard import DialGuard, DialObserver
from olive.engine._health import FAILING_AFTER, EngineHealth, RateLimitedLog
from olive.engine._lease import DialingLease, LeaseHeld
from olive.engine._link import SHUTTING_DOWN, PbxLink
from olive.engine._members import MembershipSync
from olive.engine._persist import (
    DialIntent,
    apply_agent_changes,
    apply_call_changes,
    load_open_calls,
)
from olive.engine._runner import CampaignRunner
from olive.engine._set_aside import set_aside_refused
from olive.engine._stats import call_event, live_answers_since
from olive.errors import Conflict
from olive.pacing import DialDecision
from olive.store import (
    Agent,
    Call,
    Campaign,
    CampaignRepository,
    from_epoch,
    open_calls,
    release_stale_claims,
    transaction,
)

log = logging.getLogger("olive.engine")

Drained = tuple[PbxLink, list[CallChange], list[AgentChange]]
# An Originate's answer (OriginateResponse) comes by the dial timeout at the latest;
# this long after it, olive asks Asterisk whether the call exists at all.
ORIGINATE_MARGIN_S = 5.0


class EngineState(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"

    def __repr__(self) -> str:
        return f"<EngineState.{self.name}>"


@dataclass(frozen=True)
class ServerConfig:
    """How to reach one Asterisk over AMI."""

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "olive"
    secret: str = field(default="", repr=False)
    events: str = "on"  # olive needs the call, agent and dialplan classes (VarSet)


class Engine:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        servers: Mapping[str, ServerConfig],
        *,
        clock: Clock | None = None,
        tick_s: float = 0.5,
        settle_s: float = 1.0,
        guard: DialGuard | None = None,
        bus: EventBus | None = None,
        client_factory: Callable[[str, ServerConfig], ami.AMIClient] | None = None,
        pause_after_missed: int = 2,
        lease: DialingLease | None = None,
    ) -> None:
        """``pause_after_missed``: rings an agent may let time out in a row before olive pauses them (0: never).
        ``lease``: the database's dialing lease (``olive serve`` and ``olive run`` always pass one)."""
        self.sessions = sessions
        self.lease = lease
        self.pause_after_missed = pause_after_missed
        self.clock = clock or SystemClock()
        self.tick_s = tick_s
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
        self.members = MembershipSync(self)
        self.control = Control(self)
        for link in self.links.values():
            link.on_ready = self.members.on_link_ready
        self._loop_task: asyncio.Task[None] | None = None
        self._io: set[asyncio.Task[Any]] = set()
        self._last_tick: float | None = None
        self.ticks = 0
        self.health = EngineHealth()
        self._isolating = False  # storing changes one by one to find one the database refuses
        self._tick_log = RateLimitedLog(log, every_s=30.0)
        self.on_tick: Callable[[float, bool], None] | None = None  # (seconds, failed) after each loop tick
        self.refresh_s = 1.0  # real seconds between reads of campaigns and agents
        self._refresh_at = 0.0
        self.campaigns: list[Campaign] = []  # running and paused, as last read (detached)
        self._agent_ids: dict[str, str] = {}  # interface -> agent id
        self.olive_interfaces: set[str] = set()  # every agent's interface: members olive owns

    def __repr__(self) -> str:
        return f"<Engine {self.state.value} campaigns={len(self.runners)} links={list(self.links)}>"

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        if self.state is not EngineState.CREATED:
            raise RuntimeError(f"engine already {self.state.value}")
        # First: a second node must not even release the live node's contact claims.
        if self.lease is not None and not self.lease.acquire():
            raise LeaseHeld(self.lease.note or "the dialing lease is held by another node")
        with transaction(self.sessions) as session:
            released = release_stale_claims(session)
            if released:
                log.info("released %d contact claim(s) whose call never started", len(released))
            for name, link in self.links.items():
                for record in load_open_calls(session, name):
                    link.tracker.adopt(record)
                self._remember_open_calls(session, name)
        self.state = EngineState.RUNNING
        for link in self.links.values():
            await link.client.start()
        self._loop_task = asyncio.create_task(self._loop(), name="olive-engine")

    def _remember_open_calls(self, session: Session, server: str) -> None:
        for call in open_calls(session, server):
            self.call_campaign[call.id] = call.campaign_id

    async def stop(self, *, hangup: bool = False) -> None:
        """Stop dialing and disconnect. Calls in progress go on in Asterisk (or are hung up)."""
        if self.state in (EngineState.STOPPING, EngineState.STOPPED):
            return
        if hangup:
            await self.hangup_calls(None)
        self.state = EngineState.STOPPING
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._io:
            await asyncio.wait(self._io, timeout=5)
        with contextlib.suppress(Exception):
            self._persist_only()
        for link in self.links.values():
            await link.client.close()
        if self.lease is not None:
            self.lease.release()
        self.state = EngineState.STOPPED

    async def _loop(self) -> None:
        while self.state is EngineState.RUNNING:
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
            if self.on_tick is not None:  # metrics
                self.on_tick(time.perf_counter() - started, failed)
            await self.clock.sleep(self.tick_s)

    # -- one step ---------------------------------------------------------------------
    def invalidate(self) -> None:
        """Re-read campaigns and agents from the store on the next tick (an operator changed them)."""
        self._refresh_at = 0.0

    async def tick(self) -> None:
        now = self.clock.now()
        dt = 0.0 if self._last_tick is None else max(0.0, now - self._last_tick)
        self._last_tick = now
        self.ticks += 1
        drained = [(link, *link.drain()) for link in self.links.values()]
        refresh = time.monotonic() >= self._refresh_at
        # Most ticks touch the database only when something happened: the store is
        # read on a timer (and when an operator acts), not on every tick.
        if refresh or any(calls or agents for _, calls, agents in drained):
            self._persist_drained(drained, now, refresh=refresh)
        self._account(dt)
        dialing = self._may_dial()
        decisions = self._decide(now) if dialing else []
        dials: list[Dial] = []
        if decisions:
            with transaction(self.sessions) as session:
                for campaign, decision in decisions:
                    dials.extend(place_dials(self, session, campaign, decision.dials, decision.reason, now))
        for _, intent, _ in dials:  # committed: these calls now exist
            self.call_campaign[intent.call_id] = intent.campaign_id
        if refresh and dialing:  # a fenced node cannot see the other node's calls
            self._finish_campaigns(now, placed={intent.campaign_id for _, intent, _ in dials})
        # Track each call before this tick returns, so the next decision counts it
        # as on its way even if its Originate has not been written yet.
        sent_at = self.clock.now()
        for server, intent, plan in dials:
            link = self.links[server]
            answer_by = sent_at + float(plan.get("dial_timeout_s", 30)) + ORIGINATE_MARGIN_S
            link.tracker.originate(
                intent.call_id, action_id=intent.call_id, dial_string=intent.dial_string, now=sent_at, answer_by=answer_by
            )
            runner = self.runners.get(intent.campaign_id)
            if runner is not None:
                runner.dial_placed(sent_at)
            self._spawn(self._originate(link, intent, plan))
        for link in self.links.values():  # calls already placed are followed to their end, lease or not
            if link.ready and (overdue := link.tracker.overdue(now)):
                self._spawn(link.check_calls(overdue))
            if link.shutdown_probe_due(now):
                self._spawn(link.probe_shutdown())
        if not dialing:
            return
        for op in self.members.plan(self.campaigns, self.olive_interfaces, now):
            self._spawn(op)

    def _may_dial(self) -> bool:
        """Only the holder of the database's dialing lease dials (and manages queue members)."""
        if self.lease is None or self.lease.tick():
            return True
        note = f"not dialing: {self.lease.note or 'this node does not hold the dialing lease'}"
        for campaign in self.campaigns:
            if campaign.status == "running":
                self.status_note[campaign.id] = note
        return False

    def _persist_only(self) -> None:
        self._persist_drained([(link, *link.drain()) for link in self.links.values()], self.clock.now())

    def _persist_drained(self, drained: list[Drained], now: float, *, refresh: bool = False) -> None:
        """Write what the trackers saw; only after the commit feed the pacers and the event bus.

        If the transaction fails, the changes go back to their links for the next tick,
        so no call record is lost and no pacer hears of a change twice.
        """
        effects: list[Callable[[], object]] = []
        try:
            with transaction(self.sessions) as session:
                self._persist(session, drained, effects)
                if refresh:
                    self._refresh(session, now)
        except Exception:
            for link, calls, agents in drained:
                link.requeue(calls, agents)
            if not self._isolating and self.health.tick_failures_in_a_row + 1 >= FAILING_AFTER:
                self._isolating = True
                try:
                    set_aside_refused(self, now)
                finally:
                    self._isolating = False
            raise
        for effect in effects:
            effect()

    def _persist(self, session: Session, drained: list[Drained], effects: list[Callable[[], object]]) -> None:
        for link, calls, agents in drained:
            if agents:
                for agent in apply_agent_changes(session, agents).values():
                    event = {"agent_id": agent.id, "name": agent.name, "state": agent.state}
                    effects.append(functools.partial(self.bus.publish, "agent", self.clock.now(), event))
                for agent_change in agents:
                    owner = self.members.owner(agent_change.status)
                    if owner in self.runners:
                        effects.append(functools.partial(self.runners[owner].agent_changed, agent_change))
                    if self._missed_too_many(agent_change):
                        agent_id = self._agent_ids[agent_change.status.interface]
                        effects.append(functools.partial(self._pause_for_missed_rings, agent_id, agent_change.status.missed_in_a_row))
            if not calls:
                continue
            for ended in apply_call_changes(session, calls, self._agent_ids):
                effects.append(functools.partial(self.call_campaign.pop, ended.record.call_id, None))
                if ended.record.answered_at is not None and link.ready:
                    # Seen to the end: its result in AstDB (for olive's absence) is not needed.
                    effects.append(functools.partial(self._forget_result, link, ended.record.call_id))
                self._call_ended(session, ended.record.call_id)
            for change in calls:
                campaign_id = self.call_campaign.get(change.record.call_id) or self._campaign_of(session, change.record)
                if campaign_id in self.runners:
                    effects.append(functools.partial(self.runners[campaign_id].call_changed, change))
                if change.record.state is not change.previous:  # the stream tells new states, not every AMI event
                    effects.append(functools.partial(self.bus.publish, "call", self.clock.now(), call_event(change), campaign_id))

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

    def _call_ended(self, session: Session, call_id: str) -> None:
        if isinstance(self.guard, DialObserver):
            call = session.get(Call, call_id)
            if call is not None:
                self.guard.call_ended(session, call, self.clock.now())

    def _campaign_of(self, session: Session, record: CallRecord) -> str | None:
        call = session.get(Call, record.call_id)
        return call.campaign_id if call else None

    def _refresh(self, session: Session, now: float) -> None:
        """Re-read running and paused campaigns (with plan, lists and agents) and the agents."""
        self._refresh_at = time.monotonic() + self.refresh_s
        agents = list(session.scalars(select(Agent)))
        self._agent_ids = {a.interface: a.id for a in agents}
        self.olive_interfaces = set(self._agent_ids)
        campaigns = CampaignRepository(session).with_status("running", "paused")
        live = {c.id for c in campaigns}
        for campaign_id in list(self.runners):
            if campaign_id not in live:
                del self.runners[campaign_id]
        for campaign in campaigns:
            plan = campaign.plan.snapshot()
            runner = self.runners.get(campaign.id)
            if runner is None:
                runner = CampaignRunner(campaign.id, plan, campaign.compliance_profile)
                runner.restore(live_answers_since(session, campaign.id, now - 31 * 86400))
                self.runners[campaign.id] = runner
                self.bus.publish("campaign", now, {"campaign_id": campaign.id, "status": campaign.status}, campaign.id)
            else:
                runner.update_plan(plan, campaign.compliance_profile)
            link = self.links.get(campaign.server)
            if link is not None:
                link.queues.add(campaign.queue)
                link.members.wrapup_s = max(link.members.wrapup_s, float(plan.get("wrapup_s", 0.0)))
        self.campaigns = campaigns

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
            runner = self.runners[campaign.id]
            calls = [r for r in link.tracker.active() if self.call_campaign.get(r.call_id) == campaign.id]
            decision = runner.decide(runner.snapshot(now, self.members.agents_of(campaign), calls))
            if decision.dials > 0:
                out.append((campaign, decision))
            else:
                self.status_note[campaign.id] = decision.reason
        return out

    def _finish_campaigns(self, now: float, placed: set[str]) -> None:
        """A running campaign with no call in progress and no contact left is finished."""
        busy = set(self.call_campaign.values()) | placed
        idle = [c for c in self.campaigns if c.status == "running" and c.id not in busy]
        if not idle:
            return
        with transaction(self.sessions) as session:
            repo = CampaignRepository(session)
            for cached in idle:
                if repo.has_contacts_remaining(cached.id):
                    continue
                campaign = repo.get(cached.id)
                if campaign is None or campaign.status != "running":
                    continue
                campaign.status = cached.status = "finished"
                campaign.finished_at = from_epoch(now)
                self.status_note[campaign.id] = "finished: every contact is done or exhausted"
                self.bus.publish("campaign", now, {"campaign_id": campaign.id, "status": "finished"}, campaign.id)
                log.info("campaign %s finished", campaign.name)

    # -- I/O --------------------------------------------------------------------------
    def spawn(self, coro: Any) -> None:
        """Run ``coro`` (AMI I/O) in the background; stop() waits for it."""
        self._spawn(coro)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._io.add(task)
        task.add_done_callback(self._io.discard)

    async def _originate(self, link: PbxLink, intent: DialIntent, plan: Mapping[str, Any]) -> None:
        """Send one Originate the tick already recorded and tracks; never re-sent."""
        try:
            act = ami.originate_action(
                ami.OriginateRequest(
                    call_id=intent.call_id,
                    channel=intent.dial_string,
                    context=str(plan.get("context") or "olive-dialer"),
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


def _default_guard() -> DialGuard:
    """Compliant by default: pass ``guard=AllowAll()`` only in tests about something else."""
    from olive.compliance import (
        ComplianceGuard,  # compliance builds on the engine: imported when used
    )

    return ComplianceGuard()


def _default_client(name: str, config: ServerConfig) -> ami.AMIClient:
    return ami.AMIClient(config.host, config.port, config.username, config.secret, events=config.events, name=name)


__all__ = ["ORIGINATE_MARGIN_S", "Engine", "EngineState", "ServerConfig"]
