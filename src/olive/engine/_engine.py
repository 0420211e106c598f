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
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from olive import ami
from olive.calls import CallRecord, CallState
from olive.clock import Clock, SystemClock
from olive.engine._bus import EventBus
from olive.engine._control import Control
from olive.engine._due import contacts_to_dial, dial_note
from olive.engine._guard import AllowAll, DialGuard, DialObserver, Verdict
from olive.engine._link import PbxLink
from olive.engine._members import MembershipSync
from olive.engine._persist import (
    DialIntent,
    apply_agent_changes,
    apply_call_changes,
    load_open_calls,
    write_ahead,
)
from olive.engine._runner import CampaignRunner
from olive.engine._stats import call_event, live_answers_since
from olive.ids import new_id
from olive.store import (
    Agent,
    Campaign,
    CampaignRepository,
    from_epoch,
    release_stale_claims,
    transaction,
)

log = logging.getLogger("olive.engine")


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
    ) -> None:
        self.sessions = sessions
        self.clock = clock or SystemClock()
        self.tick_s = tick_s
        self.guard = guard or AllowAll()
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

    def __repr__(self) -> str:
        return f"<Engine {self.state.value} campaigns={len(self.runners)} links={list(self.links)}>"

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        if self.state is not EngineState.CREATED:
            raise RuntimeError(f"engine already {self.state.value}")
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
        from olive.store import open_calls

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
        self.state = EngineState.STOPPED

    async def _loop(self) -> None:
        while self.state is EngineState.RUNNING:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine tick failed; retrying next tick")
            await self.clock.sleep(self.tick_s)

    # -- one step ---------------------------------------------------------------------
    async def tick(self) -> None:
        now = self.clock.now()
        dt = 0.0 if self._last_tick is None else max(0.0, now - self._last_tick)
        self._last_tick = now
        self.ticks += 1
        with transaction(self.sessions) as session:
            self._persist(session)
            campaigns = self._sync_campaigns(session, now)
            self._account(campaigns, dt)
            intents = self._plan_dials(session, campaigns, now)
            self._finish_campaigns(session, campaigns, now)
            membership_ops = self.members.plan(session, campaigns, now)
        for link_name, intent, plan in intents:
            self._spawn(self._originate(self.links[link_name], intent, plan, now))
        for op in membership_ops:
            self._spawn(op)

    def _persist_only(self) -> None:
        with transaction(self.sessions) as session:
            self._persist(session)

    def _persist(self, session: Session) -> None:
        agent_ids = {a.interface: a.id for a in session.scalars(select(Agent))}
        for link in self.links.values():
            calls, agents = link.drain()
            if agents:
                for agent in apply_agent_changes(session, agents).values():
                    self.bus.publish("agent", self.clock.now(), {"agent_id": agent.id, "name": agent.name, "state": agent.state})
                for agent_change in agents:
                    owner = self.members.owner(agent_change.status)
                    if owner in self.runners:
                        self.runners[owner].agent_changed(agent_change)
            if not calls:
                continue
            for ended in apply_call_changes(session, calls, agent_ids):
                self.call_campaign.pop(ended.record.call_id, None)
                self._call_ended(session, ended.record.call_id)
            for change in calls:
                campaign_id = self.call_campaign.get(change.record.call_id) or self._campaign_of(session, change.record)
                if campaign_id in self.runners:
                    self.runners[campaign_id].call_changed(change)
                self.bus.publish("call", self.clock.now(), call_event(change), campaign_id)

    def _call_ended(self, session: Session, call_id: str) -> None:
        if isinstance(self.guard, DialObserver):
            from olive.store import Call

            call = session.get(Call, call_id)
            if call is not None:
                self.guard.call_ended(session, call, self.clock.now())

    def _campaign_of(self, session: Session, record: CallRecord) -> str | None:
        from olive.store import Call

        call = session.get(Call, record.call_id)
        return call.campaign_id if call else None

    def _sync_campaigns(self, session: Session, now: float) -> list[Campaign]:
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
                since = now - 31 * 86400
                runner.restore(live_answers_since(session, campaign.id, since))
                self.runners[campaign.id] = runner
                self.bus.publish("campaign", now, {"campaign_id": campaign.id, "status": campaign.status}, campaign.id)
            else:
                runner.update_plan(plan, campaign.compliance_profile)
            link = self.links.get(campaign.server)
            if link is not None:
                link.queues.add(campaign.queue)
                link.members.wrapup_s = max(link.members.wrapup_s, float(plan.get("wrapup_s", 0.0)))
        return campaigns

    def _account(self, campaigns: list[Campaign], dt: float) -> None:
        if dt <= 0:
            return
        for campaign in campaigns:
            runner = self.runners[campaign.id]
            runner.account_time(self.members.agents_of(campaign), dt)

    def _plan_dials(self, session: Session, campaigns: list[Campaign], now: float) -> list[tuple[str, DialIntent, dict[str, Any]]]:
        out: list[tuple[str, DialIntent, dict[str, Any]]] = []
        for campaign in campaigns:
            if campaign.status != "running":
                self.status_note[campaign.id] = "paused"
                continue
            link = self.links.get(campaign.server)
            if link is None:
                self.status_note[campaign.id] = f"no Asterisk server named {campaign.server!r} is configured"
                continue
            if not link.ready:
                self.status_note[campaign.id] = f"waiting for Asterisk {link.name} ({link.state.value})"
                continue
            runner = self.runners[campaign.id]
            calls = [r for r in link.tracker.active() if self.call_campaign.get(r.call_id) == campaign.id]
            snapshot = runner.snapshot(now, self.members.agents_of(campaign), calls)
            decision = runner.decide(snapshot)
            if decision.dials <= 0:
                self.status_note[campaign.id] = decision.reason
                continue
            plan = campaign.plan.snapshot()
            placed = 0
            refused: list[Verdict] = []
            candidates = contacts_to_dial(session, campaign.id, now, decision.dials * 2 + 5)
            for contact in candidates:
                if placed >= decision.dials:
                    break
                if not contact.numbers:
                    continue
                index = contact.next_number_index % len(contact.numbers)
                number = contact.numbers[index]
                verdict = self.guard.check(session, campaign, contact, number, now)
                if not verdict.allowed:
                    refused.append(verdict)
                    if verdict.status:
                        contact.status = verdict.status
                    if verdict.retry_at is not None:
                        contact.next_attempt_at = from_epoch(verdict.retry_at)
                    continue
                intent = self._intent(campaign, contact, number, plan, link.name)
                if write_ahead(session, intent, plan, now):
                    out.append((link.name, intent, plan))
                    self.call_campaign[intent.call_id] = campaign.id
                    placed += 1
                    if isinstance(self.guard, DialObserver):
                        self.guard.dialed(session, campaign, contact, intent.call_id, now)
            self.status_note[campaign.id] = dial_note(session, campaign.id, decision.reason, placed, bool(candidates), refused)
        return out

    def _intent(self, campaign: Campaign, contact: Any, number: Any, plan: Mapping[str, Any], server: str) -> DialIntent:
        call_id = new_id("call")
        variables = {
            "OLIVE_CALL_ID": call_id,
            "OLIVE_CAMPAIGN": campaign.id,
            "OLIVE_CONTACT": contact.id,
            "OLIVE_QUEUE": campaign.queue,
            "OLIVE_CONNECT_LIMIT": str(max(1, math.floor(float(plan.get("connect_limit_s", 2.0))))),
            "OLIVE_DROP_MESSAGE": (plan.get("drop_message") or "") if plan.get("drop_action") == "message" else "",
        }
        for name, value in (contact.variables or {}).items():
            variables[f"OLIVE_VAR_{name.upper()}"] = str(value)
        return DialIntent(
            call_id=call_id,
            campaign_id=campaign.id,
            contact_id=contact.id,
            contact_number_id=number.id,
            number=number.number,
            attempt=contact.attempts + 1,
            server=server,
            dial_string=dial_string(str(plan["channel_template"]), number.number),
            variables=variables,
        )

    def _finish_campaigns(self, session: Session, campaigns: list[Campaign], now: float) -> None:
        repo = CampaignRepository(session)
        for campaign in campaigns:
            if campaign.status != "running":
                continue
            if any(c == campaign.id for c in self.call_campaign.values()):
                continue
            if repo.contacts_remaining(campaign.id) == 0:
                campaign.status = "finished"
                campaign.finished_at = from_epoch(now)
                self.status_note[campaign.id] = "finished: every contact is done or exhausted"
                self.bus.publish("campaign", now, {"campaign_id": campaign.id, "status": "finished"}, campaign.id)
                log.info("campaign %s finished", campaign.name)

    # -- I/O --------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._io.add(task)
        task.add_done_callback(self._io.discard)

    async def _originate(self, link: PbxLink, intent: DialIntent, plan: Mapping[str, Any], now: float) -> None:
        runner = self.runners.get(intent.campaign_id)
        sent_at = self.clock.now()  # the tick decided at ``now``; the call starts now
        link.tracker.originate(intent.call_id, action_id=intent.call_id, dial_string=intent.dial_string, now=sent_at)
        if runner is not None:
            runner.dial_placed(sent_at)
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
            link.call_changes.extend(link.tracker.originate_refused(intent.call_id, self.clock.now(), message or "error"))
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


def dial_string(template: str, e164: str) -> str:
    """Fill a plan's channel template: {number} (+E.164), {digits} (no +)."""
    return template.replace("{number}", e164).replace("{digits}", e164.lstrip("+"))


def _default_client(name: str, config: ServerConfig) -> ami.AMIClient:
    return ami.AMIClient(config.host, config.port, config.username, config.secret, events=config.events, name=name)


__all__ = ["Engine", "EngineState", "ServerConfig", "dial_string"]
