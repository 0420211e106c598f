"""Repositories for records: calls, API keys, do-not-call, dispositions, callbacks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update

from olive.calls import NOT_PLACED
from olive.store._apikeys import ApiKey, create_api_key, revoke_api_key, verify_api_key
from olive.store._base import as_utc
from olive.store._calls import Call
from olive.store._campaigns import Campaign, Contact
from olive.store._compliance import (
    DEFAULT_DISPOSITION_CODES,
    Callback,
    DispositionCode,
    DncCheck,
    DncNumber,
)
from olive.store._queries import open_calls, outcome_counts
from olive.store._repository import Page, Repository


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls to read: the filters of ``GET /calls`` and its CSV export."""

    campaign_id: str | None = None
    contact_id: str | None = None
    outcome: str | None = None
    agent_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        for column, value in (
            (Call.campaign_id, self.campaign_id),
            (Call.contact_id, self.contact_id),
            (Call.outcome, self.outcome),
            (Call.agent_id, self.agent_id),
        ):
            if value is not None:
                out.append(column == value)
        if self.since is not None:
            out.append(Call.originated_at >= self.since)
        if self.until is not None:
            out.append(Call.originated_at < self.until)
        return out



def counts_as_attempt() -> ColumnElement[bool]:
    """Calls that were attempts: not those Asterisk refused for a passing reason (``NOT_PLACED``)."""
    return or_(Call.detail.is_(None), ~Call.detail.startswith(f"{NOT_PLACED}:"))


class CallRepository(Repository[Call]):
    model = Call
    kind = "call"

    def search(self, filters: CallFilter, *, limit: int = 50, offset: int = 0) -> Page[Call]:
        return self.list(*filters.where(), order_by=(Call.originated_at,), limit=limit, offset=offset)

    def outcomes_by_number(self, contact_id: str) -> dict[str | None, dict[str, int]]:
        """How the contact's attempts ended, counted per outcome, for each of its numbers
        (by contact number id): what the retry rules weigh."""
        counts: dict[str | None, dict[str, int]] = {}
        rows = self.session.execute(
            select(Call.contact_number_id, Call.outcome, func.count())
            .where(Call.contact_id == contact_id, Call.outcome.is_not(None), counts_as_attempt())
            .group_by(Call.contact_number_id, Call.outcome)
        )
        for number_id, outcome, total in rows:
            if outcome:
                counts.setdefault(number_id, {})[outcome] = int(total)
        return counts

    def last_ended_at(self, number: str, outcome: str) -> datetime | None:
        """When the latest call to ``number`` with that outcome ended, in any campaign."""
        return self.session.scalar(select(func.max(Call.ended_at)).where(Call.number == number, Call.outcome == outcome))

    def last_ended_by_number(
        self, numbers: Sequence[str], outcomes: Sequence[str]
    ) -> dict[tuple[str, str], datetime]:
        """:meth:`last_ended_at` for many numbers at once: (number, outcome) -> when the latest such call ended."""
        if not numbers or not outcomes:
            return {}
        rows = self.session.execute(
            select(Call.number, Call.outcome, func.max(Call.ended_at))
            .where(Call.number.in_(sorted(set(numbers))), Call.outcome.in_(sorted(set(outcomes))))
            .group_by(Call.number, Call.outcome)
        )
        return {
            (number, outcome): at
            for number, outcome, at in rows
            if at is not None and outcome is not None
        }

    def claim_disposition(
        self, call_id: str, now: datetime | float
    ) -> tuple[str, str | None, str | None] | None:
        """Mark the ended call's disposition as taken effect, if it has one that has not;
        returns (code, contact id, contact number id) to whoever won (one conditional
        UPDATE: the engine ending the call and the API setting the code race here)."""
        won = self.session.execute(
            update(Call)
            .where(
                Call.id == call_id,
                Call.disposition.is_not(None),
                Call.ended_at.is_not(None),
                Call.disposition_applied_at.is_(None),
            )
            .values(disposition_applied_at=as_utc(now))
            .returning(Call.disposition, Call.contact_id, Call.contact_number_id)
            .execution_options(synchronize_session=False)
        ).first()
        loaded = self.session.identity_map.get(self.session.identity_key(Call, call_id))
        if loaded is not None:
            self.session.expire(loaded, ["disposition_applied_at"])
        if won is None:
            return None
        code, contact_id, number_id = won
        return str(code), contact_id, number_id

    def claim_dispositions(
        self, call_ids: Sequence[str], now: datetime | float
    ) -> dict[str, tuple[str, str | None, str | None]]:
        """:meth:`claim_disposition` for many ended calls in one statement: call id ->
        (code, contact id, contact number id) for each call whose disposition this caller claimed."""
        if not call_ids:
            return {}
        ids = sorted(set(call_ids))
        won = self.session.execute(
            update(Call)
            .where(
                Call.id.in_(ids),
                Call.disposition.is_not(None),
                Call.ended_at.is_not(None),
                Call.disposition_applied_at.is_(None),
            )
            .values(disposition_applied_at=as_utc(now))
            .returning(Call.id, Call.disposition, Call.contact_id, Call.contact_number_id)
            .execution_options(synchronize_session=False)
        ).all()
        for call_id in ids:
            loaded = self.session.identity_map.get(self.session.identity_key(Call, call_id))
            if loaded is not None:
                self.session.expire(loaded, ["disposition_applied_at"])
        return {call_id: (str(code), contact_id, number_id) for call_id, code, contact_id, number_id in won}

    def of_campaign(self, campaign_id: str, *, outcome: str | None = None) -> list[Call]:
        """Every call of the campaign (with that outcome), oldest first."""
        statement = self.select().where(Call.campaign_id == campaign_id)
        if outcome is not None:
            statement = statement.where(Call.outcome == outcome)
        return self.all(statement.order_by(Call.originated_at, Call.id))

    def chunk(self, filters: CallFilter, *, after: tuple[datetime, str] | None, limit: int) -> list[Call]:
        """Up to ``limit`` matching calls, oldest first, after ``(originated_at, id)``: keyset
        paging, so an export reads every call once however many there are."""
        statement = self.select().where(*filters.where()).order_by(Call.originated_at, Call.id).limit(limit)
        if after is not None:
            at, id = after
            statement = statement.where(or_(Call.originated_at > at, and_(Call.originated_at == at, Call.id > id)))
        return self.all(statement)

    def open(self, server: str | None = None) -> list[Call]:
        return open_calls(self.session, server)

    def last_connected_for(self, agent_id: str) -> Call | None:
        """The agent's latest call that reached them."""
        statement = (
            self.select()
            .where(Call.agent_id == agent_id, Call.agent_connected_at.is_not(None))
            .order_by(Call.agent_connected_at.desc())
            .limit(1)
        )
        return self.session.scalars(statement).first()

    def latest_for_contact(self, contact_id: str, limit: int) -> list[Call]:
        """The contact's latest ``limit`` calls, newest first."""
        statement = (
            self.select()
            .where(Call.contact_id == contact_id)
            .order_by(Call.originated_at.desc(), Call.id)
            .limit(limit)
        )
        return self.all(statement)

    def open_for_contact(self, contact_id: str) -> Call | None:
        return self.one_or_none(
            self.select().where(Call.contact_id == contact_id, Call.ended_at.is_(None))
        )

    def for_contact(self, contact_id: str) -> list[Call]:
        statement = self.select().where(Call.contact_id == contact_id)
        return self.all(statement.order_by(Call.originated_at, Call.id))

    def outcome_counts(
        self, campaign_id: str, *, since: datetime | float | None = None
    ) -> dict[str, int]:
        return outcome_counts(self.session, campaign_id, since=since)


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey
    kind = "API key"


    def every(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        return self.all(self.select().order_by(ApiKey.created_at, ApiKey.id))

    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        return create_api_key(self.session, name, role)

    def verify(self, plaintext: str, *, now: datetime | float | None = None) -> ApiKey | None:
        return verify_api_key(self.session, plaintext, now=now)

    def revoke(self, key_id: str, *, now: datetime | float | None = None) -> bool:
        return revoke_api_key(self.session, key_id, now=now)


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
                DncNumber.number.in_(sorted(set(numbers))), scope
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
    ) -> DncCheck:
        """Record a check already made (:meth:`matches`); written with the transaction's next flush."""
        record = DncCheck(
            number=number,
            campaign_id=campaign_id,
            contact_id=contact_id,
            result="clear" if matched_list is None else "blocked",
            matched_list=matched_list,
            checked_at=as_utc(now),
        )
        self.session.add(record)
        return record

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

    def due(self, campaign_id: str, now: datetime | float, limit: int = 100) -> list[Callback]:
        """Scheduled callbacks of the campaign due at ``now``, earliest first."""
        statement = (
            self.select()
            .where(
                Callback.campaign_id == campaign_id,
                Callback.status == "scheduled",
                Callback.due_at <= as_utc(now),
            )
            .order_by(Callback.due_at, Callback.id)
            .limit(limit)
        )
        return self.all(statement)

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
                Callback.contact_id.in_(sorted(set(contact_ids))),
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


__all__ = [
    "ApiKeyRepository",
    "CallFilter",
    "CallRepository",
    "CallbackRepository",
    "DispositionCodeRepository",
    "DncRepository",
    "counts_as_attempt",
]
