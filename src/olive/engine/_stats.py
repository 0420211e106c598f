"""Numbers about calls and campaigns, for events, the API and the CLI."""

from __future__ import annotations

import heapq
from typing import Any

from sqlalchemy.orm import Session

from olive.calls import LIVE_ANSWERS, CallChange, Outcome
from olive.engine._answer_history import TIERS
from olive.store import (
    AMD_FALSE_POSITIVE_SHARE,
    counted_since,
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


def live_answer_counts(
    session: Session, campaign_id: str, since: float, now: float, server: str | None = None
) -> list[tuple[float, bool, int]]:
    """(at, abandoned, count) of the campaign's live answers since ``since``, oldest first, as a
    restarted runner takes them: each abandon on its own (the pacer's clusters need their
    times), connected answers counted in the database in the buckets a runner keeps them in
    (``AnswerHistory``: 2.5 s for the last hour, a minute for the last day, half an hour beyond),
    each at its bucket's start, which every abandon window counts as it counted the answers.
    A month at 1,000 agents is tens of millions of answers: read one by one, minutes and
    gigabytes at start-up; counted, a few thousand rows."""
    widths = [(width, now - span) for width, span in TIERS]
    abandoned = Outcome.ABANDONED.value
    connected = [
        (at, False, n)
        for at, n in counted_since(session, campaign_id, [o for o in LIVE if o != abandoned], since, widths, server=server)
    ]
    abandons = [(to_epoch(at), True, 1) for at, _ in ended_since(session, campaign_id, [abandoned], since, server=server)]
    return list(heapq.merge(connected, abandons, key=lambda row: (row[0], not row[1])))


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


__all__ = ["abandon_rate", "call_event", "live_answer_counts", "live_answers_since", "machines_since"]
