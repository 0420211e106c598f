"""A campaign's live figures on any ``--scale-out`` node (issue 15, docs/scale-out.md).

A campaign's pacers run in the engines of its units, one per server, on
whichever nodes hold them. Each unit's engine publishes its campaign's
:class:`CampaignStatus` (counters, pacer mode and estimates, last decision,
note, abandon windows) to ``unit_live`` every :data:`LIVE_EVERY_S`, fenced by
its lease (``olive.store.publish_unit_live``). A node's API engine
(``PoolView``) reads every unit's row once a refresh and answers a campaign's
status with :func:`merged_status`: each server's figures, and their merge
over the units whose figures are live.

Figures are *live* when their writer still holds the unit and they are at
most :data:`STALE_AFTER_S` old (the database's clock); otherwise they are
kept per server, marked stale, and left out of the merge: a dead holder's
last counters are not the campaign's now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from olive.engine._campaigns import CampaignStatus, UnitStatus
from olive.engine._runner import CampaignCounters
from olive.pacing import WindowStats
from olive.store import UnitLiveView

#: Real seconds between two publications of a unit's figures.
LIVE_EVERY_S = 2.0
#: Figures older than this (real seconds) are stale: three publications missed, a lease's length
#: (``UNIT_TTL_S``): their holder is dead, cut off, or stuck.
STALE_AFTER_S = 6.0


def _finite(value: Any) -> float | None:
    """JSON has no NaN or infinity (PostgreSQL refuses them): such an estimate is unknown."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def live_figures(status: CampaignStatus) -> dict[str, Any]:
    """What a unit publishes of its campaign: ``status`` as a JSON object."""
    c = status.counters
    return {
        "note": status.note,
        "counters": None if c is None else {
            "outcomes": dict(c.outcomes), "agent_s": c.agent_s, "handle_s": c.handle_s, "talk_s": c.talk_s,
            "connects": c.connects, "dials": c.dials,
        },
        "pacer_mode": status.pacer_mode,
        "estimates": {k: _finite(v) for k, v in status.estimates.items()},
        "last_decision": None if status.last_decision is None else {
            "dials": status.last_decision[0], "reason": status.last_decision[1],
        },
        "abandon_windows": [
            {"window_s": w.window_s, "live_answers": w.live_answers, "abandons": w.abandons}
            for w in status.abandon_windows
        ],
    }


def read_figures(campaign_id: str, figures: Mapping[str, Any]) -> CampaignStatus:
    """The status a unit published (missing keys read as unknown: nodes of another version may write fewer)."""
    raw = figures.get("counters")
    counters = None
    if isinstance(raw, Mapping):
        counters = CampaignCounters(
            {str(k): int(v) for k, v in dict(raw.get("outcomes") or {}).items()},
            float(raw.get("agent_s") or 0.0), float(raw.get("handle_s") or 0.0), float(raw.get("talk_s") or 0.0),
            int(raw.get("connects") or 0), int(raw.get("dials") or 0),
        )
    decision = figures.get("last_decision")
    windows = tuple(
        WindowStats(
            None if w.get("window_s") is None else float(w["window_s"]),
            float(w.get("live_answers") or 0.0), float(w.get("abandons") or 0.0),
        )
        for w in figures.get("abandon_windows") or () if isinstance(w, Mapping)
    )
    return CampaignStatus(
        campaign_id,
        figures.get("note"),
        counters,
        figures.get("pacer_mode"),
        dict(figures.get("estimates") or {}),
        None if not isinstance(decision, Mapping) else (int(decision.get("dials") or 0), str(decision.get("reason") or "")),
        windows,
    )


def unit_statuses(rows: Iterable[UnitLiveView], elapsed_s: float = 0.0, stale_after_s: float = STALE_AFTER_S) -> tuple[UnitStatus, ...]:
    """Each unit's published figures; ``elapsed_s``: real seconds since the rows were read."""
    out = []
    for row in rows:
        age = row.age_s + max(0.0, elapsed_s)
        out.append(UnitStatus(
            row.server, row.node, row.token, row.live_at, age, not row.held or age > stale_after_s, row.held,
            row.owner_node,
            read_figures(row.campaign_id, row.figures),
        ))
    return tuple(out)


def _unit_note(unit: UnitStatus) -> str:
    if not unit.stale:
        note = unit.figures.note
        return f"{unit.server} (node {unit.node}): {note}" if note else f"{unit.server} (node {unit.node})"
    if unit.held:
        why = f"node {unit.node} holds it but has not published since"
    elif unit.owner_node is not None:
        why = f"node {unit.owner_node} holds it now"
    else:
        why = "no node holds it now"
    return f"{unit.server}: no live figures (the last, from node {unit.node}, are {unit.age_s:.0f} s old; {why})"


def merged_status(campaign_id: str, units: Sequence[UnitStatus]) -> CampaignStatus:
    """The campaign's status from its units' figures: counters and abandon windows summed over the live
    units, the estimates they agree on, each server's decision, and a note naming each server's node."""
    if not units:
        return CampaignStatus(
            campaign_id, "no live figures from this campaign's units yet (GET /pool shows which nodes hold them)"
        )
    note = "; ".join(_unit_note(u) for u in units)
    live = [u for u in units if not u.stale and u.figures.counters is not None]
    if not live:
        return CampaignStatus(campaign_id, note, units=tuple(units))
    counters = CampaignCounters()
    for unit in live:
        c = unit.figures.counters
        assert c is not None
        for outcome, n in c.outcomes.items():
            counters.outcomes[outcome] = counters.outcomes.get(outcome, 0) + n
        counters.agent_s += c.agent_s
        counters.handle_s += c.handle_s
        counters.talk_s += c.talk_s
        counters.connects += c.connects
        counters.dials += c.dials
    modes = {u.figures.pacer_mode for u in live}
    # Per-server estimates stay per server; the campaign's are those every live unit agrees on
    # (one unit: all of its own; a plan's fixed dial level: the same on every server).
    first = live[0].figures.estimates
    estimates = {k: v for k, v in first.items() if all(u.figures.estimates.get(k) == v for u in live[1:])}
    decisions = [(u.server, d) for u in live if (d := u.figures.last_decision) is not None]
    decision = None
    if len(decisions) == 1:
        decision = decisions[0][1]
    elif decisions:  # each server's pacer decided for its own agents: the campaign places their sum
        decision = (sum(d[0] for _, d in decisions), "; ".join(f"{server}: {d[1]}" for server, d in decisions))
    return CampaignStatus(
        campaign_id,
        note,
        counters,
        modes.pop() if len(modes) == 1 else None,
        estimates,
        decision,
        _summed([u.figures.abandon_windows for u in live]),
        tuple(units),
        min(u.live_at for u in live),
    )


def _summed(windows: Iterable[Sequence[WindowStats]]) -> tuple[WindowStats, ...]:
    """The campaign's abandon windows: each window's live answers and abandons summed over the units
    (each unit keeps its own rate within the target, so the sum's rate is within it too)."""
    totals: dict[float | None, tuple[float, float]] = {}
    for unit_windows in windows:
        for w in unit_windows:
            live, abandons = totals.get(w.window_s, (0.0, 0.0))
            totals[w.window_s] = (live + w.live_answers, abandons + w.abandons)
    order = sorted(totals, key=lambda w: -1.0 if w is None else w)
    return tuple(WindowStats(w, *totals[w]) for w in order)


__all__ = ["LIVE_EVERY_S", "STALE_AFTER_S", "live_figures", "merged_status", "read_figures", "unit_statuses"]
