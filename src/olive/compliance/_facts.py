"""Reading the facts the pure rules weigh, from the store, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from olive.calls import Outcome
from olive.compliance._eligibility import ContactFacts, DialFacts
from olive.compliance._hours import contact_zones
from olive.compliance._profile import campaign_problems
from olive.compliance._schedule import Schedule, ScheduleError, parse_schedule
from olive.store import (
    Agent,
    Callback,
    CallbackRepository,
    CallRepository,
    Campaign,
    Contact,
    ContactNumber,
    DialContact,
    DncRepository,
    as_utc,
    to_epoch,
)


def campaign_schedule(campaign: Campaign) -> Schedule:
    """The campaign's schedule; a broken one reads as the default (the guard refuses to dial anyway)."""
    try:
        return parse_schedule(campaign.schedule)
    except ScheduleError:
        return Schedule()


def next_number(contact: Contact) -> ContactNumber | None:
    numbers = contact.numbers
    return numbers[contact.next_number_index % len(numbers)] if numbers else None


def last_abandoned_at(session: Session, number: str) -> float | None:
    """When the latest abandoned call to ``number`` ended, in any campaign."""
    at = CallRepository(session).last_ended_at(number, Outcome.ABANDONED.value)
    return None if at is None else to_epoch(as_utc(at))


def last_machine_at(session: Session, number: str) -> float | None:
    """When the latest call to ``number`` that AMD took for a machine ended, in any campaign."""
    at = CallRepository(session).last_ended_at(number, Outcome.MACHINE.value)
    return None if at is None else to_epoch(as_utc(at))


def due_callback(session: Session, campaign_id: str, contact_id: str, now: float) -> Callback | None:
    return CallbackRepository(session).next_for(campaign_id, contact_id, now, due=True)


def future_callback(session: Session, campaign_id: str, contact_id: str, now: float) -> Callback | None:
    return CallbackRepository(session).next_for(campaign_id, contact_id, now, due=False)


def dial_facts(
    session: Session,
    campaign: Campaign,
    contact: DialContact,
    number: str,
    now: float,
    *,
    schedule: Schedule | None = None,
) -> DialFacts:
    """The facts the guard weighs before dialing ``number`` for ``contact``. ``campaign.plan`` must be loaded."""
    plan = campaign.plan.snapshot()
    profile = campaign.compliance_profile
    schedule = schedule or campaign_schedule(campaign)
    owner_name: str | None = None
    owner_ready = True
    callback = due_callback(session, campaign.id, contact.id, now)
    timeout = plan.get("callback_owner_timeout_s")
    if callback is not None and timeout is not None and now >= to_epoch(as_utc(callback.due_at)) + float(timeout):
        callback = None  # waited long enough for its owner: any agent may take it
    if callback is not None and callback.agent_id is not None:
        owner = session.get(Agent, callback.agent_id)
        if owner is not None:
            owner_name, owner_ready = owner.name, owner.state == "ready"
    return DialFacts(
        profile=profile,
        dial_mode=str(plan.get("dial_mode", "progressive")),
        zones=contact_zones(contact.timezone, number, schedule.fallback_timezone),
        plan_problems=tuple(campaign_problems(plan, campaign.schedule, profile)),
        last_abandoned_at=last_abandoned_at(session, number) if profile == "uk-ofcom" else None,
        last_machine_at=last_machine_at(session, number) if profile == "uk-ofcom" else None,
        callback_owner=owner_name,
        callback_owner_ready=owner_ready,
    )


@dataclass
class TickFacts:
    """What the guard weighs for a tick's candidates, read in a few statements for all of them
    (:func:`gather`): their due callbacks and the callbacks' owners, the uk-ofcom lockouts of
    their numbers and the do-not-call lists' entries for them. Valid in ``session`` at ``now`` only."""

    session: Session
    campaign_id: str
    now: float
    schedule: Schedule
    plan: dict[str, Any]
    plan_problems: tuple[str, ...]
    contact_ids: frozenset[str]
    numbers: frozenset[str]
    callbacks: dict[str, Callback] = field(
        default_factory=dict
    )  # contact id -> its earliest due callback
    owners: dict[str, tuple[str, bool]] = field(default_factory=dict)  # agent id -> (name, ready)
    ended: dict[tuple[str, str], float] = field(
        default_factory=dict
    )  # (number, outcome) -> last ended
    dnc: dict[str, str] = field(default_factory=dict)  # number -> the list blocking it

    def covers(
        self, session: Session, campaign_id: str, contact_id: str, number: str, now: float
    ) -> bool:
        return (
            session is self.session
            and campaign_id == self.campaign_id
            and now == self.now
            and contact_id in self.contact_ids
            and number in self.numbers
        )

    def dial_facts(self, campaign: Campaign, contact: DialContact, number: str) -> DialFacts:
        """What :func:`dial_facts` reads, from what was gathered."""
        profile = campaign.compliance_profile
        owner_name: str | None = None
        owner_ready = True
        callback = self.callbacks.get(contact.id)
        timeout = self.plan.get("callback_owner_timeout_s")
        if (
            callback is not None
            and timeout is not None
            and self.now >= to_epoch(as_utc(callback.due_at)) + float(timeout)
        ):
            callback = None
        if (
            callback is not None
            and callback.agent_id is not None
            and callback.agent_id in self.owners
        ):
            owner_name, owner_ready = self.owners[callback.agent_id]
        return DialFacts(
            profile=profile,
            dial_mode=str(self.plan.get("dial_mode", "progressive")),
            zones=contact_zones(contact.timezone, number, self.schedule.fallback_timezone),
            plan_problems=self.plan_problems,
            last_abandoned_at=self.ended.get((number, Outcome.ABANDONED.value)),
            last_machine_at=self.ended.get((number, Outcome.MACHINE.value)),
            callback_owner=owner_name,
            callback_owner_ready=owner_ready,
        )


def gather(
    session: Session, campaign: Campaign, candidates: Sequence[tuple[DialContact, str]], now: float
) -> TickFacts:
    """Read the facts for ``candidates`` ((contact, the number to dial)) in a few statements:
    due callbacks (one), their owners (one each, only for owned callbacks), the last abandoned and
    machine calls to the numbers (one, uk-ofcom only), do-not-call entries (one)."""
    plan = campaign.plan.snapshot()
    profile = campaign.compliance_profile
    contact_ids = [c.id for c, _ in candidates]
    numbers = [n for _, n in candidates]
    facts = TickFacts(
        session=session,
        campaign_id=campaign.id,
        now=now,
        schedule=campaign_schedule(campaign),
        plan=plan,
        plan_problems=tuple(campaign_problems(plan, campaign.schedule, profile)),
        contact_ids=frozenset(contact_ids),
        numbers=frozenset(numbers),
    )
    facts.callbacks = CallbackRepository(session).due_for(campaign.id, contact_ids, now)
    for agent_id in {cb.agent_id for cb in facts.callbacks.values() if cb.agent_id is not None}:
        owner = session.get(Agent, agent_id)
        if owner is not None:
            facts.owners[agent_id] = (owner.name, owner.state == "ready")
    if profile == "uk-ofcom":
        ended = CallRepository(session).last_ended_by_number(
            numbers, (Outcome.ABANDONED.value, Outcome.MACHINE.value)
        )
        facts.ended = {key: to_epoch(as_utc(at)) for key, at in ended.items()}
    facts.dnc = DncRepository(session).matches(numbers, campaign.id)
    return facts


def contact_facts(
    session: Session, campaign: Campaign, contact: Contact, now: float
) -> ContactFacts:
    """Everything ``explain`` weighs; reads, records nothing (a DNC *check* is the guard's)."""
    schedule = campaign_schedule(campaign)
    number = next_number(contact)
    e164 = number.number if number is not None else None
    dial = (
        dial_facts(session, campaign, contact, e164, now, schedule=schedule)
        if e164 is not None
        else DialFacts(campaign.compliance_profile, str(campaign.plan.dial_mode), contact_zones(contact.timezone, None))
    )
    hit = DncRepository(session).match(e164, campaign.id) if e164 is not None else None
    future = future_callback(session, campaign.id, contact.id, now)
    return ContactFacts(
        campaign_status=campaign.status,
        contact_status=contact.status,
        next_attempt_at=None if contact.next_attempt_at is None else to_epoch(as_utc(contact.next_attempt_at)),
        last_outcome=contact.last_outcome,
        attempts=contact.attempts,
        number=e164,
        dial=dial,
        dnc_list=None if hit is None else ("global" if hit.campaign_id is None else "campaign's"),
        callback_due_at=None if future is None else to_epoch(as_utc(future.due_at)),
    )


__all__ = [
    "TickFacts",
    "campaign_schedule",
    "contact_facts",
    "dial_facts",
    "due_callback",
    "future_callback",
    "gather",
    "last_abandoned_at",
    "last_machine_at",
    "next_number",
]
