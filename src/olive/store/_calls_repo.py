"""Calls: every query of the aggregate. :class:`CallRepository` (the API's
reads and the attempt count) and the functions the engine runs: figures of a
campaign, open calls. Each takes the caller's session; none commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from olive.calls import NOT_PLACED
from olive.store._base import as_utc
from olive.store._calls import Call
from olive.store._campaigns import (
    Agent,
)
from olive.store._repository import Page, Repository


def ended_since(
    session: Session, campaign_id: str, outcomes: Sequence[str], since: datetime | float, *, server: str | None = None
) -> list[tuple[datetime, str]]:
    """(ended at, outcome) of the campaign's calls with one of ``outcomes`` ended since ``since``, oldest first
    (placed on ``server`` only, when given: a unit's own)."""
    rows = session.execute(
        select(Call.ended_at, Call.outcome)
        .where(
            Call.campaign_id == campaign_id,
            Call.outcome.in_(list(outcomes)),
            Call.ended_at >= as_utc(since),
            *(() if server is None else (Call.server == server,)),
        )
        .order_by(Call.ended_at)
    )
    return [(at, str(outcome)) for at, outcome in rows if at is not None]


def counted_since(
    session: Session,
    campaign_id: str,
    outcomes: Sequence[str],
    since: float,
    widths: Sequence[tuple[float, float]],
    *,
    server: str | None = None,
) -> list[tuple[float, int]]:
    """(bucket start as an epoch, calls) of the campaign's calls with one of ``outcomes`` ended
    since ``since``, counted in the database per bucket, oldest first: ``widths`` are (bucket
    width in seconds, for calls ended at or after this epoch), newest first; older calls get the
    last width. Buckets are aligned on the epoch (``floor(at / width) * width``). A restarted
    engine reads a month of live answers this way: a few thousand rows, not one per call."""
    if not widths:
        raise ValueError("counted_since needs at least one bucket width")
    *newer, (oldest_width, _) = widths
    width: ColumnElement[Any] = literal(oldest_width, Float)
    if newer:
        width = case(*((Call.ended_at >= as_utc(after), literal(w, Float)) for w, after in newer), else_=width)
    bucket: ColumnElement[Any]
    if session.get_bind().dialect.name == "postgresql":
        bucket = func.floor(cast(func.extract("epoch", Call.ended_at), Float) / width)
    else:
        # SQLite keeps timestamps as UTC text, which julianday() reads (to about 10 microseconds);
        # it may lack floor(), but epochs are positive, so truncation is the floor.
        bucket = cast((func.julianday(Call.ended_at) - 2440587.5) * 86400.0 / width, Integer)
    rows = session.execute(
        select(width, bucket, func.count())
        .where(
            Call.campaign_id == campaign_id,
            Call.outcome.in_(list(outcomes)),
            Call.ended_at >= as_utc(since),
            *(() if server is None else (Call.server == server,)),
        )
        .group_by(width, bucket)
    )
    return sorted((float(b) * float(w), int(n)) for w, b, n in rows)


def machine_calls_since(
    session: Session, campaign_id: str, since: datetime | float, *, server: str | None = None
) -> list[tuple[datetime, dict[str, Any]]]:
    """(ended at, plan snapshot) of the campaign's calls AMD took for a machine since ``since``, oldest first
    (placed on ``server`` only, when given)."""
    rows = session.execute(
        select(Call.ended_at, Call.plan_snapshot)
        .where(
            Call.campaign_id == campaign_id,
            Call.outcome == "MACHINE",
            Call.ended_at >= as_utc(since),
            *(() if server is None else (Call.server == server,)),
        )
        .order_by(Call.ended_at)
    )
    return [(at, plan or {}) for at, plan in rows if at is not None]


def outcome_totals(
    session: Session,
    campaign_id: str,
    outcomes: Sequence[str],
    since: datetime | float | None = None,
) -> dict[str, int]:
    """The campaign's calls with one of ``outcomes``, counted per outcome (ended since ``since``)."""
    statement = (
        select(Call.outcome, func.count())
        .where(Call.campaign_id == campaign_id, Call.outcome.in_(list(outcomes)))
        .group_by(Call.outcome)
    )
    if since is not None:
        statement = statement.where(Call.ended_at >= as_utc(since))
    return {str(outcome): int(n) for outcome, n in session.execute(statement)}


def open_call_count(session: Session, campaign_id: str) -> int:
    """How many of the campaign's calls are open."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Call)
            .where(Call.campaign_id == campaign_id, Call.ended_at.is_(None))
        )
        or 0
    )


def has_open_call_for(session: Session, agent_id: str) -> bool:
    """Whether an open call was placed for the agent (an owned callback)."""
    found = session.scalar(
        select(Call.id).where(Call.for_agent_id == agent_id, Call.ended_at.is_(None)).limit(1)
    )
    return found is not None


def open_owner_calls(session: Session) -> dict[str, tuple[str, str]]:
    """Open calls placed for an agent: call id -> (the agent's interface, server)."""
    rows = session.execute(
        select(Call.id, Agent.interface, Call.server)
        .join(Agent, Agent.id == Call.for_agent_id)
        .where(Call.for_agent_id.is_not(None), Call.ended_at.is_(None))
    ).all()
    return {call_id: (interface, server) for call_id, interface, server in rows}


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


def open_calls(session: Session, server: str | None = None) -> list[Call]:
    """Calls not yet ended (on ``server`` if given), oldest first: what to reconcile after a restart."""
    statement = select(Call).where(Call.ended_at.is_(None))
    if server is not None:
        statement = statement.where(Call.server == server)
    return list(session.scalars(statement.order_by(Call.originated_at, Call.id)).all())


def outcome_counts(
    session: Session, campaign_id: str, *, since: datetime | float | None = None
) -> dict[str, int]:
    """Ended calls of the campaign by outcome (originated at or after ``since``, if given)."""
    statement = (
        select(Call.outcome, func.count())
        .where(Call.campaign_id == campaign_id, Call.outcome.is_not(None))
        .group_by(Call.outcome)
    )
    if since is not None:
        statement = statement.where(Call.originated_at >= as_utc(since))
    return {outcome: int(n) for outcome, n in session.execute(statement) if outcome}


__all__ = [
    "CallFilter",
    "CallRepository",
    "counted_since",
    "counts_as_attempt",
    "ended_since",
    "has_open_call_for",
    "machine_calls_since",
    "open_call_count",
    "open_calls",
    "open_owner_calls",
    "outcome_counts",
    "outcome_totals",
]
