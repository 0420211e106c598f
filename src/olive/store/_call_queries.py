"""Queries on calls the engine runs: figures of a campaign, open calls.

Part of the calls aggregate (with :class:`~olive.store.CallRepository`);
each takes the caller's session and returns plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from olive.store._base import as_utc
from olive.store._calls import Call
from olive.store._campaigns import Agent


def ended_since(
    session: Session, campaign_id: str, outcomes: Sequence[str], since: datetime | float
) -> list[tuple[datetime, str]]:
    """(ended at, outcome) of the campaign's calls with one of ``outcomes`` ended since ``since``, oldest first."""
    rows = session.execute(
        select(Call.ended_at, Call.outcome)
        .where(
            Call.campaign_id == campaign_id,
            Call.outcome.in_(list(outcomes)),
            Call.ended_at >= as_utc(since),
        )
        .order_by(Call.ended_at)
    )
    return [(at, str(outcome)) for at, outcome in rows if at is not None]


def machine_calls_since(
    session: Session, campaign_id: str, since: datetime | float
) -> list[tuple[datetime, dict[str, Any]]]:
    """(ended at, plan snapshot) of the campaign's calls AMD took for a machine since ``since``, oldest first."""
    rows = session.execute(
        select(Call.ended_at, Call.plan_snapshot)
        .where(
            Call.campaign_id == campaign_id,
            Call.outcome == "MACHINE",
            Call.ended_at >= as_utc(since),
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


__all__ = [
    "ended_since",
    "has_open_call_for",
    "machine_calls_since",
    "open_call_count",
    "open_owner_calls",
    "outcome_totals",
]
