"""Preview mode: each ready agent sees the next contact and dials it, or skips it.

In a campaign whose plan's ``dial_mode`` is ``preview`` the pacer places no
call (``PreviewPacer``). Instead, on each tick olive *offers* the next due
contact (owned callbacks of this agent and open callbacks first, then the
rest, each passing the dial guard) to every ready agent of the campaign who
has none: a ``previews`` row the agent's page shows. The agent then:

- **dials** it (``dial``): the dial guard is asked again (calling hours, DNC,
  ...), then olive writes the call and originates it *agent first*: the
  Originate calls the agent's own phone into the dialplan's [olive-preview],
  which, once the agent answers, Dial()s the customer with the plan's channel
  template and dial timeout and bridges them at the customer's answer. The
  agent is reserved (out of the campaigns' queues, as for an owned callback)
  from the click until their wrap-up ends; ringing, talking and wrap-up come
  from the call's own record (calls/_members ``agent_first``), as no queue
  event tells them. An agent who does not answer their phone dialed nobody:
  the call is *not placed* (the contact's attempt is given back) and the agent
  is paused, as for missed rings; or
- **skips** it (``skip``) with a reason: the contact is offered again after
  ``SKIP_DELAY_S``.

Unattended for the plan's ``preview_timeout_s``, a preview is either dialed
(``preview_timeout_action = dial``) or skipped and its agent paused (``skip``,
the default: a call put through to an empty desk is an abandoned call).
Agent first, no customer ever waits for an agent: a preview call is never
abandoned.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from olive.calls import AgentActivity
from olive.compliance import DialObserver, Verdict, due_callback
from olive.engine._callbacks import OwnerRoute
from olive.engine._dialing import Dial, build_intent
from olive.engine._due import contacts_to_dial
from olive.engine._persist import DialIntent, write_ahead
from olive.errors import Conflict
from olive.store import (
    Agent,
    Campaign,
    Contact,
    Preview,
    as_utc,
    from_epoch,
    offered_contact_ids,
    offered_to,
    open_previews,
    preview_contact,
    to_epoch,
    transaction,
)

if TYPE_CHECKING:
    from olive.engine._engine import Engine

log = logging.getLogger("olive.engine")

#: A skipped (or timed-out) contact is offered again this much later.
SKIP_DELAY_S = 3600.0
PREVIEW_MODE = "preview"
#: After a timeout pauses an agent, no offer to them meanwhile (the pause is on its way).
HOLD_AFTER_TIMEOUT_S = 10.0
#: The dialplan context of an agent-first call (docs/asterisk/extensions.conf).
PREVIEW_CONTEXT = "olive-preview"
AGENT_MISSED = "did not answer the preview call"


@dataclass
class _Step:
    """What one database step decided, to do on the loop after its commit."""

    dials: list[Dial] = field(default_factory=list)
    pauses: list[tuple[str, str]] = field(default_factory=list)  # (agent id, reason)
    events: list[dict[str, Any]] = field(default_factory=list)  # for the bus ("agent")


@dataclass(frozen=True)
class _DialResult:
    dial: Dial | None
    refusal: str | None = None


def is_preview(campaign: Campaign) -> bool:
    return str(campaign.plan.snapshot().get("dial_mode")) == PREVIEW_MODE


class Previews:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._active = True  # previews may need closing (the first tick: left open by an earlier run)
        self._hold: dict[str, float] = {}  # agent id -> no offer before (being paused after a timeout)

    # -- each tick ------------------------------------------------------------------
    async def tick(self, now: float) -> None:
        """Offer contacts to the ready agents of running preview campaigns; time out the unattended."""
        engine = self.engine
        campaigns = {c.id: c for c in engine.campaigns if c.status == "running" and is_preview(c)}
        if not campaigns and not self._active:
            return
        self._active = bool(campaigns)
        reserved = engine.callbacks.reserved(now)
        idle: dict[str, list[str]] = {}
        for campaign in campaigns.values():
            link = engine.links.get(campaign.server)
            if link is None or not link.ready:
                continue
            idle[campaign.id] = [
                agent_id
                for st in engine.members.agents_of(campaign)
                if st.activity is AgentActivity.IDLE and st.interface not in reserved
                and (agent_id := engine._agent_ids.get(st.interface)) is not None
                and self._hold.get(agent_id, 0.0) <= now
            ]
        step = await engine.run_db(self._step, campaigns, idle, now)
        self._after(step)

    def _step(self, campaigns: Mapping[str, Campaign], idle: Mapping[str, list[str]], now: float) -> _Step:
        step = _Step()
        with transaction(self.engine.sessions) as session:
            self._close_stale(session, campaigns, now, step)
            offered = {p.agent_id for p in open_previews(session)} | {agent_id for agent_id, _ in step.pauses}
            taken = offered_contact_ids(session)
            for campaign_id, agents in idle.items():
                for agent_id in agents:
                    if agent_id in offered:
                        continue
                    preview = self._offer(session, campaigns[campaign_id], agent_id, taken, now)
                    if preview is not None:
                        offered.add(agent_id)
                        taken.add(preview.contact_id)
                        step.events.append({"agent_id": agent_id, "preview_id": preview.id, "preview": "offered"})
        return step

    def _close_stale(self, session: Session, campaigns: Mapping[str, Campaign], now: float, step: _Step) -> None:
        for preview in open_previews(session):
            agent = session.get(Agent, preview.agent_id)
            campaign = campaigns.get(preview.campaign_id)
            if campaign is None or agent is None or agent.state == "logged_out":
                _close(preview, "withdrawn", "the agent logged out or the campaign is not running", now)
                step.events.append({"agent_id": preview.agent_id, "preview_id": preview.id, "preview": "withdrawn"})
                continue
            if preview.expires_at is None or to_epoch(as_utc(preview.expires_at)) > now:
                continue
            plan = campaign.plan.snapshot()
            if plan.get("preview_timeout_action") == "dial" and agent.state == "ready":
                result = self._dial_in_tx(session, campaign, preview, agent, now)
                if result.dial is not None:
                    step.dials.append(result.dial)
                step.events.append({"agent_id": agent.id, "preview_id": preview.id, "preview": preview.status})
                continue
            _close(preview, "expired", f"nobody acted within {plan.get('preview_timeout_s')} s", now)
            _put_off(session, preview.contact_id, now)
            step.pauses.append((agent.id, "preview timed out"))
            step.events.append({"agent_id": agent.id, "preview_id": preview.id, "preview": "expired"})

    def _offer(self, session: Session, campaign: Campaign, agent_id: str, taken: set[str], now: float) -> Preview | None:
        agent = session.get(Agent, agent_id)
        if agent is None or agent.state != "ready" or agent.current_call_id is not None:
            return None
        guard = self.engine.guard
        for contact in contacts_to_dial(session, campaign.id, now, 25):
            if contact.id in taken or not contact.numbers:
                continue
            callback = due_callback(session, campaign.id, contact.id, now)
            if callback is not None and callback.agent_id not in (None, agent_id):
                continue  # another agent's callback: theirs to preview
            number = contact.numbers[contact.next_number_index % len(contact.numbers)]
            verdict = guard.check(session, campaign, contact, number, now)
            if not verdict.allowed:
                _apply(contact, verdict)
                continue
            timeout = campaign.plan.snapshot().get("preview_timeout_s")
            preview = Preview(
                campaign_id=campaign.id, agent_id=agent_id, contact_id=contact.id, offered_at=from_epoch(now),
                expires_at=None if timeout is None else from_epoch(now + float(timeout)), status="offered",
            )
            session.add(preview)
            session.flush()
            return preview
        return None

    # -- the agent's verbs ------------------------------------------------------------
    async def dial(self, agent_id: str) -> str:
        """The agent dials the contact on their screen; returns the call id. Conflict if there is
        none, or the dial guard refuses it now (the preview is then closed, with why)."""
        result = await self.engine.run_db(self._dial_verb, agent_id, self.engine.clock.now())
        if result.dial is None:
            raise Conflict(result.refusal or "the contact cannot be dialed now", field="preview")
        self._after(_Step(dials=[result.dial], events=[{"agent_id": agent_id, "preview": "dialed"}]))
        return result.dial[1].call_id

    def _dial_verb(self, agent_id: str, now: float) -> _DialResult:
        with transaction(self.engine.sessions) as session:
            preview = offered_to(session, agent_id)
            campaign = next((c for c in self.engine.campaigns if preview and c.id == preview.campaign_id), None)
            agent = session.get(Agent, agent_id)
            if preview is None or agent is None:
                return _DialResult(None, "no contact is on your screen to dial")
            if campaign is None or campaign.status != "running":
                _close(preview, "withdrawn", "the campaign is not running", now)
                return _DialResult(None, "the campaign is not running")
            if agent.state != "ready" or agent.current_call_id is not None:
                return _DialResult(None, f"you are {agent.state.replace('_', ' ')}: be ready to dial")
            return self._dial_in_tx(session, campaign, preview, agent, now)

    async def skip(self, agent_id: str, reason: str) -> None:
        """The agent skips the contact on their screen (offered again after ``SKIP_DELAY_S``)."""
        skipped = await self.engine.run_db(self._skip, agent_id, reason, self.engine.clock.now())
        if not skipped:
            raise Conflict("no contact is on your screen to skip", field="preview")
        self.engine.bus.publish("agent", self.engine.clock.now(), {"agent_id": agent_id, "preview": "skipped"})

    def _skip(self, agent_id: str, reason: str, now: float) -> bool:
        with transaction(self.engine.sessions) as session:
            preview = offered_to(session, agent_id)
            if preview is None:
                return False
            _close(preview, "skipped", reason, now)
            _put_off(session, preview.contact_id, now)
            return True

    # -- in the transaction -------------------------------------------------------------
    def _dial_in_tx(self, session: Session, campaign: Campaign, preview: Preview, agent: Agent, now: float) -> _DialResult:
        """Check the contact again and write its call (for this agent alone)."""
        engine, plan = self.engine, campaign.plan.snapshot()
        contact = preview_contact(session, preview.contact_id)
        if contact is None or not contact.numbers or contact.status != "pending" or contact.active_call_id is not None:
            _close(preview, "withdrawn", "the contact is no longer waiting to be called", now)
            return _DialResult(None, "the contact is no longer waiting to be called")
        number = contact.numbers[contact.next_number_index % len(contact.numbers)]
        verdict = engine.guard.check(session, campaign, contact, number, now)  # hours, DNC: again, now
        if not verdict.allowed:
            _close(preview, "refused", verdict.reason, now)
            _apply(contact, verdict)
            return _DialResult(None, f"not dialed: {verdict.reason}")
        intent = agent_first_intent(build_intent(campaign, contact, number, plan, campaign.server), agent.interface, plan)
        if not write_ahead(session, intent, plan, now):
            _close(preview, "withdrawn", "the contact was claimed elsewhere", now)
            return _DialResult(None, "the contact is being called already")
        # Reserved for this call (out of the campaigns' queues; the call row names them, for a restart).
        route = OwnerRoute(agent.id, agent.interface, str(plan.get("callback_queue") or ""), 0)
        engine.callbacks.reserve(session, intent.call_id, route, campaign.server, now)
        if isinstance(engine.guard, DialObserver):
            engine.guard.dialed(session, campaign, contact, intent.call_id, now)
        _close(preview, "dialed", None, now)
        preview.call_id = intent.call_id
        return _DialResult((campaign.server, intent, plan))

    def agent_missed(self, agent_id: str) -> None:
        """The agent's phone did not answer the call they asked for: pause them (the contact,
        never dialed, is due again) and offer them nothing meanwhile."""
        log.warning("agent %s did not answer their preview call: pausing them", agent_id)
        self._after(_Step(pauses=[(agent_id, AGENT_MISSED)]))

    # -- on the loop, after the commit -------------------------------------------------
    def _after(self, step: _Step) -> None:
        engine = self.engine
        if step.dials:
            engine.send_dials(step.dials)
        for agent_id, reason in step.pauses:
            self._hold[agent_id] = engine.clock.now() + HOLD_AFTER_TIMEOUT_S
            engine.spawn(_pause(engine, agent_id, reason))
        now = engine.clock.now()
        for event in step.events:
            engine.bus.publish("agent", now, event)


def agent_first_intent(intent: DialIntent, interface: str, plan: Mapping[str, Any]) -> DialIntent:
    """``intent`` (the customer's call) as an agent-first call: the Originate rings ``interface``
    into [olive-preview], whose Dial() calls the customer with ``intent``'s dial string."""
    variables = {
        **intent.variables,
        "OLIVE_AGENT": interface,
        "OLIVE_PREVIEW_DIAL": intent.dial_string,
        "OLIVE_DIAL_TIMEOUT": f"{float(plan.get('dial_timeout_s', 30)):g}",
    }
    return replace(intent, variables=variables, agent_first=interface)


async def _pause(engine: Engine, agent_id: str, reason: str) -> None:
    with contextlib.suppress(Conflict):  # logged out meanwhile
        await engine.control.pause_agent(agent_id, reason)


def _close(preview: Preview, status: str, reason: str | None, now: float) -> None:
    preview.status, preview.reason, preview.closed_at = status, reason, from_epoch(now)


def _put_off(session: Session, contact_id: str, now: float) -> None:
    contact = session.get(Contact, contact_id)
    if contact is not None and contact.status == "pending" and contact.active_call_id is None:
        contact.next_attempt_at = from_epoch(now + SKIP_DELAY_S)


def _apply(contact: Contact, verdict: Verdict) -> None:
    """A refusal, as place_dials applies one: a status for good (DNC), or a time to look again."""
    if verdict.status:
        contact.status = verdict.status
    if verdict.retry_at is not None:
        contact.next_attempt_at = from_epoch(verdict.retry_at)


def open_preview(session: Session, agent_id: str) -> Preview | None:
    """The contact on the agent's screen, if any (for the API)."""
    return offered_to(session, agent_id)


__all__ = ["PREVIEW_CONTEXT", "PREVIEW_MODE", "SKIP_DELAY_S", "Previews", "agent_first_intent", "is_preview", "open_preview"]
