"""Numbers about calls and campaigns, for events, the API and the CLI."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from olive.calls import LIVE_ANSWERS, CallChange
from olive.store import (
    AMD_FALSE_POSITIVE_SHARE,
    ended_since,
    machine_calls_since,
    outcome_totals,
    to_epoch,
)

LIVE = tuple(sorted(o.value for o in LIVE_ANSWERS))


def call_event(change: CallChange) -> dict[str, Any]:
    rec = change.record
    return {
        "call_id": rec.call_id,
        "state": rec.state.value,
        "previous": change.previous.value,
        "outcome": rec.outcome.value if rec.outcome else None,
        "agent": rec.agent_member_name or rec.agent_interface,
        "customer_wait_s": rec.customer_wait_s,
        "talk_s": rec.talk_s,
        "hangup_cause": rec.hangup_cause,
    }


def live_answers_since(
    session: Session, campaign_id: str, since: float, server: str | None = None
) -> list[tuple[float, bool]]:
    """(ended at, abandoned) for every live answer of the campaign since ``since``, oldest first
    (of its calls on ``server`` only, when given: a unit paces and guards its own)."""
    return [
        (to_epoch(at), outcome == "ABANDONED")
        for at, outcome in ended_since(session, campaign_id, LIVE, since, server=server)
    ]


def machines_since(
    session: Session, campaign_id: str, since: float, server: str | None = None
) -> list[tuple[float, float]]:
    """(ended at, the plan's estimated share of a person) for every call AMD took for a machine
    since ``since``, oldest first: the abandons the compliance export estimates among them."""
    out = []
    for at, plan in machine_calls_since(session, campaign_id, since, server=server):
        share = plan.get("amd_false_positive_share")
        out.append((to_epoch(at), AMD_FALSE_POSITIVE_SHARE if share is None else float(share)))
    return out


def abandon_rate(session: Session, campaign_id: str, since: float | None = None) -> dict[str, Any]:
    """Abandoned / live answers, over the whole campaign or since ``since``."""
    counts = outcome_totals(session, campaign_id, LIVE, since)
    live = sum(counts.values())
    abandoned = counts.get("ABANDONED", 0)
    return {"live_answers": live, "abandoned": abandoned, "rate": (abandoned / live) if live else 0.0}


__all__ = ["abandon_rate", "call_event", "live_answers_since", "machines_since"]
