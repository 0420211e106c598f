"""Repositories for records: calls, API keys, do-not-call, dispositions, callbacks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select

from olive.store._apikeys import ApiKey, create_api_key, revoke_api_key, verify_api_key
from olive.store._base import as_utc
from olive.store._calls import Call
from olive.store._compliance import (
    DEFAULT_DISPOSITION_CODES,
    Callback,
    DispositionCode,
    DncCheck,
    DncNumber,
)
from olive.store._queries import open_calls, outcome_counts
from olive.store._repository import Repository


class CallRepository(Repository[Call]):
    model = Call
    kind = "call"

    def open(self, server: str | None = None) -> list[Call]:
        return open_calls(self.session, server)

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

    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        return create_api_key(self.session, name, role)

    def verify(self, plaintext: str, *, now: datetime | float | None = None) -> ApiKey | None:
        return verify_api_key(self.session, plaintext, now=now)

    def revoke(self, key_id: str, *, now: datetime | float | None = None) -> bool:
        return revoke_api_key(self.session, key_id, now=now)


class DncRepository(Repository[DncNumber]):
    model = DncNumber
    kind = "DNC number"

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


__all__ = [
    "ApiKeyRepository",
    "CallRepository",
    "CallbackRepository",
    "DispositionCodeRepository",
    "DncRepository",
]
