"""The compliance records a regulator may ask for: every attempt, the live answers and
machines behind the abandon rate, the pre-dial DNC checks and the DNC lists, read for
compliance/_records.py's exports. Reads only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from olive.calls import LIVE_ANSWERS, Outcome
from olive.store._base import as_utc
from olive.store._calls import Call
from olive.store._campaigns import Campaign
from olive.store._compliance import DncCheck, DncNumber


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


__all__ = ["ComplianceRecords"]
