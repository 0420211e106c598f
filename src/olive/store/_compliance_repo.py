"""Compliance records and do-not-call: every query of the aggregate (DNC lists,
disposition codes, callbacks, the callbacks due for a tick).

:class:`ComplianceRecords` reads what a regulator may ask for: every attempt, the
live answers and machines behind the abandon rate, the pre-dial DNC checks and
the DNC lists, for compliance/_records.py's exports. Reads only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, delete, func, or_, select
from sqlalchemy.orm import Session

from olive.calls import LIVE_ANSWERS, Outcome
from olive.ids import new_id
from olive.store._base import as_utc
from olive.store._calls import Call
from olive.store._campaigns import (
    Campaign,
    Contact,
)
from olive.store._compliance import (
    DEFAULT_DISPOSITION_CODES,
    Callback,
    DispositionCode,
    DncCheck,
    DncNumber,
)
from olive.store._db import among
from olive.store._engine_writes import insert_rows
from olive.store._repository import Page, Repository


@dataclass(slots=True)
class CheckRecord:
    """A DNC check made for a tick's candidate, kept until the tick's calls are written:
    :meth:`DncRepository.write_checks` then writes the tick's records, each with its call."""

    number: str
    campaign_id: str | None
    contact_id: str | None
    result: str  # "clear" or "blocked"
    matched_list: str | None
    checked_at: datetime
    call_id: str | None = None
    id: str = field(default_factory=lambda: new_id("dncc"))


_CHECK_FIELDS = tuple(f.name for f in fields(CheckRecord))


def _between(statement: Select[Any], column: Any, since: float | None, until: float | None) -> Select[Any]:
    if since is not None:
        statement = statement.where(column >= as_utc(since))
    if until is not None:
        statement = statement.where(column < as_utc(until))
    return statement


class ComplianceRecords:
    def __init__(self, session: Session) -> None:
        self.session = session

    def campaigns(self) -> dict[str, Campaign]:
        """Every campaign, by id."""
        return {c.id: c for c in self.session.scalars(select(Campaign))}

    def attempts(self, campaign_id: str | None, since: float | None, until: float | None) -> Iterator[Call]:
        """Every call placed in ``[since, until)`` (of the campaign), oldest first."""
        statement = select(Call).order_by(Call.originated_at, Call.id)
        if campaign_id is not None:
            statement = statement.where(Call.campaign_id == campaign_id)
        yield from self.session.scalars(_between(statement, Call.originated_at, since, until))

    def dnc_checks(
        self, campaign_id: str | None, since: float | None, until: float | None, *, of_calls: bool = False
    ) -> Iterator[DncCheck]:
        """The pre-dial DNC checks made in ``[since, until)`` (of the campaign; only those of a
        call, with ``of_calls``), oldest first."""
        statement = select(DncCheck).order_by(DncCheck.checked_at, DncCheck.id)
        if of_calls:
            statement = statement.where(DncCheck.call_id.is_not(None))
        if campaign_id is not None:
            statement = statement.where(DncCheck.campaign_id == campaign_id)
        yield from self.session.scalars(_between(statement, DncCheck.checked_at, since, until))

    def answers_and_machines(self, campaign_id: str) -> Iterator[tuple[datetime, str, bool | None, dict[str, Any] | None]]:
        """(ended, outcome, drop message played, plan snapshot) of the campaign's ended live
        answers and MACHINE calls, in the order they ended: the abandon rate's calls."""
        outcomes = [*(o.value for o in LIVE_ANSWERS), Outcome.MACHINE.value]
        statement = (
            select(Call.ended_at, Call.outcome, Call.drop_message_played, Call.plan_snapshot)
            .where(Call.campaign_id == campaign_id, Call.outcome.in_(outcomes), Call.ended_at.is_not(None))
            .order_by(Call.ended_at)
        )
        for ended, outcome, played, plan in self.session.execute(statement):
            if ended is not None and outcome is not None:
                yield ended, outcome, played, plan

    def dnc_numbers(self, campaign_id: str | None) -> Iterator[DncNumber]:
        """The DNC entries (of one campaign's list), the global list first, by number."""
        statement = select(DncNumber).order_by(DncNumber.campaign_id.is_not(None), DncNumber.number)
        if campaign_id is not None:
            statement = statement.where(DncNumber.campaign_id == campaign_id)
        yield from self.session.scalars(statement)


class DncRepository(Repository[DncNumber]):
    model = DncNumber
    kind = "DNC number"

    def search(
        self, *, campaign_id: str | None, scope: str | None, number: str | None, limit: int = 50, offset: int = 0
    ) -> Page[DncNumber]:
        """Entries of one campaign's list, of the global list (``scope="global"``) or of any
        campaign's (``scope="campaign"``), optionally for one number (E.164)."""
        where: list[ColumnElement[bool]] = []
        if scope == "global":
            where.append(DncNumber.campaign_id.is_(None))
        elif scope == "campaign":
            where.append(DncNumber.campaign_id.is_not(None))
        return self.list_by(
            {"campaign_id": campaign_id, "number": number}, *where, order_by=("number", "id"), limit=limit, offset=offset
        )

    def listed(self, numbers: Sequence[str], campaign_id: str | None) -> set[str]:
        """Which of ``numbers`` the campaign's list (or the global one) already has."""
        scope = DncNumber.campaign_id.is_(None) if campaign_id is None else DncNumber.campaign_id == campaign_id
        return set(self.session.scalars(select(DncNumber.number).where(scope, DncNumber.number.in_(numbers))))

    def remove(self, number: str, campaign_id: str | None) -> bool:
        """Take ``number`` off the campaign's list, or the global one; whether it was there."""
        scope = DncNumber.campaign_id.is_(None) if campaign_id is None else DncNumber.campaign_id == campaign_id
        removed = self.session.execute(delete(DncNumber).where(DncNumber.number == number, scope).returning(DncNumber.id))
        return bool(removed.all())

    def match(self, number: str, campaign_id: str | None) -> DncNumber | None:
        """The entry blocking ``number`` for the campaign (its own list first, then global)."""
        scope: ColumnElement[bool] = DncNumber.campaign_id.is_(None)
        if campaign_id is not None:
            scope = or_(scope, DncNumber.campaign_id == campaign_id)
        statement = (
            self.select()
            .where(DncNumber.number == number, scope)
            .order_by(DncNumber.campaign_id.is_(None), DncNumber.id)
            .limit(1)
        )
        return self.one_or_none(statement)

    def matches(self, numbers: Sequence[str], campaign_id: str | None) -> dict[str, str]:
        """:meth:`match` for many numbers at once: number -> the list blocking it (the
        campaign's id, or ``"global"``), the campaign's own list first; clear numbers are absent."""
        if not numbers:
            return {}
        scope: ColumnElement[bool] = DncNumber.campaign_id.is_(None)
        if campaign_id is not None:
            scope = or_(scope, DncNumber.campaign_id == campaign_id)
        out: dict[str, str] = {}
        rows = self.session.execute(
            select(DncNumber.number, DncNumber.campaign_id).where(
                among(self.session, DncNumber.number, sorted(set(numbers))), scope
            )
        )
        for number, list_id in rows:
            if list_id is not None or number not in out:
                out[number] = list_id or "global"
        return out

    def record_check(
        self,
        number: str,
        matched_list: str | None,
        *,
        campaign_id: str | None,
        contact_id: str | None,
        now: datetime | float,
    ) -> CheckRecord:
        """The record of a check already made (:meth:`matches`), not yet written: pass it to
        :meth:`write_checks` in the same transaction."""
        return CheckRecord(
            number=number,
            campaign_id=campaign_id,
            contact_id=contact_id,
            result="clear" if matched_list is None else "blocked",
            matched_list=matched_list,
            checked_at=as_utc(now),
        )

    def write_checks(self, records: Sequence[CheckRecord]) -> None:
        """Write these checks' records in one statement (a text that does not change with
        their number: engine/_dialing.py writes a tick's at once)."""
        table = DncCheck.__table__
        assert isinstance(table, Table)
        # Field by field: asdict() deep-copies every value (each datetime): a tenth of place_dials' CPU in a profile.
        insert_rows(self.session, table, [{name: getattr(record, name) for name in _CHECK_FIELDS} for record in records])

    def add_number(
        self,
        number: str,
        *,
        campaign_id: str | None = None,
        source: str | None = None,
        note: str | None = None,
    ) -> DncNumber:
        """Add ``number`` (E.164) to the campaign's list, or the global one; idempotent."""
        scope: ColumnElement[bool] = (
            DncNumber.campaign_id.is_(None)
            if campaign_id is None
            else DncNumber.campaign_id == campaign_id
        )
        existing = self.one_or_none(self.select().where(DncNumber.number == number, scope))
        if existing is not None:
            return existing
        row = DncNumber(number=number, campaign_id=campaign_id, source=source, note=note)
        return self.add(row)

    def check(
        self,
        number: str,
        *,
        campaign_id: str | None,
        contact_id: str | None = None,
        call_id: str | None = None,
        now: datetime | float | None = None,
    ) -> DncCheck:
        """Check ``number`` and record the check (the regulator's record); returns the record."""
        hit = self.match(number, campaign_id)
        record = DncCheck(
            number=number,
            campaign_id=campaign_id,
            contact_id=contact_id,
            call_id=call_id,
            result="clear" if hit is None else "blocked",
            matched_list=None if hit is None else (hit.campaign_id or "global"),
        )
        if now is not None:
            record.checked_at = as_utc(now)
        self.session.add(record)
        self.session.flush()
        return record


class DispositionCodeRepository(Repository[DispositionCode]):
    model = DispositionCode
    kind = "disposition code"

    def seed_defaults(self) -> list[DispositionCode]:
        """Add the default codes that are missing; returns the ones added."""
        existing = set(self.session.scalars(select(DispositionCode.code)).all())
        added = [
            DispositionCode(
                code=code, label=label, final=final, retry=retry, add_to_dnc=dnc, callback=cb
            )
            for code, label, final, retry, dnc, cb in DEFAULT_DISPOSITION_CODES
            if code not in existing
        ]
        self.session.add_all(added)
        self.session.flush()
        return added

    def count_codes(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(DispositionCode)) or 0)

    def all_codes(self) -> list[DispositionCode]:
        return self.all(self.select().order_by(DispositionCode.code))

    def times_used(self, code: str) -> int:
        """How many calls carry the code."""
        return int(self.session.scalar(select(func.count()).select_from(Call).where(Call.disposition == code)) or 0)


class CallbackRepository(Repository[Callback]):
    model = Callback
    kind = "callback"

    def scheduled(self, *, contact_id: str | None = None, source_call_id: str | None = None) -> list[Callback]:
        """The scheduled callbacks of a contact, or those a call asked for."""
        return self.all(self.select().where(
            *((Callback.contact_id == contact_id,) if contact_id is not None else ()),
            *((Callback.source_call_id == source_call_id,) if source_call_id is not None else ()),
            Callback.status == "scheduled",
        ))

    def of_contact(self, contact_id: str) -> list[Callback]:
        """Every callback of the contact, latest due first."""
        return self.all(
            self.select().where(Callback.contact_id == contact_id).order_by(Callback.due_at.desc())
        )

    def scheduled_for_agent(
        self, agent_id: str, limit: int
    ) -> list[tuple[Callback, Contact, Campaign]]:
        """The agent's scheduled callbacks with their contact and campaign, earliest first."""
        rows = self.session.execute(
            select(Callback, Contact, Campaign)
            .join(Contact, Contact.id == Callback.contact_id)
            .join(Campaign, Campaign.id == Callback.campaign_id)
            .where(Callback.agent_id == agent_id, Callback.status == "scheduled")
            .order_by(Callback.due_at, Callback.id)
            .limit(limit)
        ).all()
        return [(callback, contact, campaign) for callback, contact, campaign in rows]

    def due_for(
        self, campaign_id: str, contact_ids: Sequence[str], now: datetime | float
    ) -> dict[str, Callback]:
        """:meth:`next_for` (``due``) for many contacts at once: contact id -> its earliest due callback."""
        if not contact_ids:
            return {}
        statement = (
            self.select()
            .where(
                Callback.campaign_id == campaign_id,
                among(self.session, Callback.contact_id, sorted(set(contact_ids))),
                Callback.status == "scheduled",
                Callback.due_at <= as_utc(now),
            )
            .order_by(Callback.due_at, Callback.id)
        )
        out: dict[str, Callback] = {}
        for callback in self.session.scalars(statement):
            out.setdefault(callback.contact_id, callback)
        return out

    def next_for(
        self, campaign_id: str, contact_id: str, now: datetime | float, *, due: bool
    ) -> Callback | None:
        """The contact's earliest scheduled callback in the campaign: one due at ``now``
        (``due``), or else the earliest still to come."""
        when = Callback.due_at <= as_utc(now) if due else Callback.due_at > as_utc(now)
        statement = (
            self.select()
            .where(Callback.campaign_id == campaign_id, Callback.contact_id == contact_id, Callback.status == "scheduled", when)
            .order_by(Callback.due_at, Callback.id)
            .limit(1)
        )
        return self.session.scalars(statement).first()


CHUNK = 500  # bound parameters per statement


def contacts_with_due_callbacks(session: Session, campaign_id: str, contact_ids: Sequence[str], now: float) -> set[str]:
    """Which of these contacts have a callback of the campaign scheduled and due at ``now``:
    one query for a tick's candidates, where asking per contact was a query per dial."""
    out: set[str] = set()
    ids = list(contact_ids)
    for start in range(0, len(ids), CHUNK):
        out.update(
            session.scalars(
                select(Callback.contact_id).where(
                    Callback.campaign_id == campaign_id,
                    among(session, Callback.contact_id, ids[start : start + CHUNK]),
                    Callback.status == "scheduled",
                    Callback.due_at <= as_utc(now),
                )
            )
        )
    return out


__all__ = [
    "CallbackRepository",
    "ComplianceRecords",
    "DispositionCodeRepository",
    "DncRepository",
    "contacts_with_due_callbacks",
]
