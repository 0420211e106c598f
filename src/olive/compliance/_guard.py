"""The compliance guard: the engine's last check before every Originate.

The engine calls :meth:`ComplianceGuard.check` inside the tick's
transaction, right before it claims a contact and writes its call row, so a
window that closed a second ago or a number added to a do-not-call list
while the contact was queued stops the call. In order:

1. the campaign's plan and schedule must be allowed under its profile;
2. calling hours, in every zone the contact may be in;
3. the uk-ofcom 72-hour lockout after an abandoned call to the number;
4. a due callback owned by an agent waits for that agent to be ready;
5. the do-not-call lists (global and the campaign's), checked and recorded
   as a :class:`~olive.store.DncCheck` every time (a tick's records are
   written together, each with its call, by :meth:`write_records`).

A refusal carries ``retry_at``, the moment every reason will have cleared,
so the contact leaves the due queue until then; a DNC hit ends the contact
(status ``dnc``) unless another of its numbers is clear.

After the engine writes the call it calls :meth:`dialed` (the DNC check is
linked to the call, a due callback is marked done). An agent's disposition set
during the call is no guard's business: the engine applies it when the call
ends (:func:`~olive.compliance.apply_disposition`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from olive.compliance._dial_guard import Verdict
from olive.compliance._eligibility import RECHECK_S, Reason, dial_reasons
from olive.compliance._facts import TickFacts, campaign_schedule, dial_facts, due_callback, gather
from olive.compliance._hours import next_open_in_all
from olive.compliance._retry import NumberHistory
from olive.compliance._schedule import Schedule
from olive.store import (
    CallRepository,
    Campaign,
    CheckRecord,
    DialContact,
    DialNumber,
    DncCheck,
    DncRepository,
    set_next_number,
)


class ComplianceGuard:
    """olive's default dial guard; see the module docstring for what it checks."""

    def __init__(self) -> None:
        self._clear_checks: dict[str, DncCheck | CheckRecord] = {}  # contact id -> its clear check, until dialed
        self._tick: TickFacts | None = None
        self._records: list[CheckRecord] = []  # the tick's checks, until its calls are written

    def __repr__(self) -> str:
        return "<ComplianceGuard>"

    def prepare(
        self, session: Session, campaign: Campaign, candidates: Sequence[DialContact], now: float
    ) -> None:
        """Read what :meth:`check` weighs for all of a tick's candidates at once (a few
        statements instead of several per contact); a check of any other contact, or in
        another transaction or at another time, reads its own."""
        pairs = [
            (c, c.numbers[c.next_number_index % len(c.numbers)].number)
            for c in candidates
            if c.numbers
        ]
        self._tick = gather(session, campaign, pairs, now)
        self._records = []  # an earlier tick's that failed before writing them died with its transaction

    def check(
        self,
        session: Session,
        campaign: Campaign,
        contact: DialContact,
        number: DialNumber,
        now: float,
    ) -> Verdict:
        tick = self._tick
        if tick is not None and tick.covers(session, campaign.id, contact.id, number.number, now):
            schedule = tick.schedule
            facts = tick.dial_facts(campaign, contact, number.number)
        else:
            tick = None
            schedule = campaign_schedule(campaign)
            facts = dial_facts(session, campaign, contact, number.number, now, schedule=schedule)
        reasons = dial_reasons(facts, schedule, now)
        if reasons:
            return Verdict(False, _reason_text(reasons), retry_at=_retry_at(reasons, facts.zones.names, schedule, now))
        dnc = DncRepository(session)
        record: DncCheck | CheckRecord
        if tick is not None:
            record = dnc.record_check(
                number.number,
                tick.dnc.get(number.number),
                campaign_id=campaign.id,
                contact_id=contact.id,
                now=now,
            )
            self._records.append(record)
        else:
            record = dnc.check(
                number.number, campaign_id=campaign.id, contact_id=contact.id, now=now
            )
        if record.result == "clear":
            self._clear_checks[contact.id] = record
            return Verdict(True)
        self._clear_checks.pop(contact.id, None)
        where = "global" if record.matched_list == "global" else "campaign's"
        text = f"dnc: {number.number} is on the {where} do-not-call list"
        for other_index, other in _other_numbers(session, campaign, contact, number):
            if dnc.match(other.number, campaign.id) is None:
                set_next_number(session, contact.id, other_index)
                return Verdict(
                    False, f"{text}; trying its number {other_index + 1} instead", retry_at=now
                )
        return Verdict(False, text, status="dnc")

    def dialed(
        self, session: Session, campaign: Campaign, contact: DialContact, call_id: str, now: float
    ) -> None:
        """The call is written: link its DNC check, and mark a due callback as served.
        Both are written with the transaction's next flush (the tick's commit)."""
        record = self._clear_checks.pop(contact.id, None)
        if record is not None:
            record.call_id = call_id
        tick = self._tick
        if (
            tick is not None
            and tick.session is session
            and tick.campaign_id == campaign.id
            and tick.now == now
            and contact.id in tick.contact_ids
        ):
            callback = tick.callbacks.get(contact.id)
        else:
            callback = due_callback(session, campaign.id, contact.id, now)
        if callback is not None:
            callback.status = "done"
            callback.call_id = call_id

    def write_records(self, session: Session) -> None:
        """Write the DNC checks of the tick :meth:`prepare` began, in one statement, with
        the calls :meth:`dialed` linked (a check made without ``prepare`` is written
        as it is made)."""
        records, self._records = self._records, []
        DncRepository(session).write_checks(records)


def _reason_text(reasons: list[Reason]) -> str:
    return "; ".join(f"{r.code}: {r.message}" for r in reasons)


def _retry_at(reasons: list[Reason], zones: tuple[str, ...], schedule: Schedule, now: float) -> float:
    after = max(r.clears_at if r.clears_at is not None else now + RECHECK_S.get(r.code, 60.0) for r in reasons)
    if not zones or any(r.clears_at is None for r in reasons):
        return after
    return next_open_in_all(schedule, zones, after) or after


def _other_numbers(
    session: Session, campaign: Campaign, contact: DialContact, blocked: DialNumber
) -> list[tuple[int, DialNumber]]:
    """The contact's other numbers the plan's retry rules still allow, in the order they come next."""
    numbers = list(contact.numbers)
    if len(numbers) < 2:
        return []
    counts = CallRepository(session).outcomes_by_number(contact.id)
    rules = campaign.plan.retry_rules
    start = next((i for i, n in enumerate(numbers) if n.id == blocked.id), 0)
    order = [(start + step) % len(numbers) for step in range(1, len(numbers))]
    return [
        (i, numbers[i])
        for i in order
        if numbers[i].number != blocked.number and NumberHistory(i, counts.get(numbers[i].id, {})).alive(rules)
    ]


__all__ = ["ComplianceGuard"]
