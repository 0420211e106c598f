"""A restarted engine reads a month of live answers counted in the database (connected answers
in the runner's buckets, abandons one by one), not one row per call, and its runner's abandon
windows count exactly what they counted from the rows. On SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from olive import pacing
from olive.calls import LIVE_ANSWERS
from olive.engine import live_answers_since
from olive.engine._answer_history import LIVE_ANSWERS_S
from olive.engine._runner import CampaignRunner
from olive.engine._stats import live_answer_counts
from olive.store import Call, counted_since

from .conftest import Factory

NOW = 1_772_000_000.0  # 2026-02-25
DAY = 86_400.0
PLAN = {"dial_mode": "predictive"}
OUTCOMES = [*sorted(o.value for o in LIVE_ANSWERS), "NO_ANSWER", "BUSY"]


def seed_calls(session: Session, campaign_id: str) -> int:
    """35 days of ended calls, busier in the last hour and day; returns the live answers since 31 days."""
    rng = random.Random(11)
    ages = [rng.uniform(0, 35 * DAY) for _ in range(1500)] + [rng.uniform(0, DAY) for _ in range(800)]
    ages += [rng.uniform(0, 3600) for _ in range(700)]
    rows = []
    for i, age in enumerate(ages):
        outcome = "ABANDONED" if i % 17 == 0 else rng.choice(OUTCOMES)
        at = datetime.fromtimestamp(round(NOW - age, 3), UTC)
        rows.append({"campaign_id": campaign_id, "number": f"+1555{i:07d}", "state": "ended", "outcome": outcome,
                     "ended_at": at})
    session.execute(insert(Call), rows)
    session.commit()
    return sum(1 for r, age in zip(rows, ages, strict=True)
               if r["outcome"] in {o.value for o in LIVE_ANSWERS} and age <= LIVE_ANSWERS_S)


@pytest.mark.parametrize(("profile", "windows"), [("us-tsr", (3600.0, 30 * DAY)), ("uk-ofcom", (3600.0, DAY))])
def test_counted_answers_restore_the_windows_the_rows_did(
    session: Session, factory: Factory, profile: str, windows: tuple[float, ...]
) -> None:
    campaign = factory.campaign(dial_lists=[factory.dial_list()])
    session.commit()
    live = seed_calls(session, campaign.id)
    since = NOW - LIVE_ANSWERS_S

    rows = live_answers_since(session, campaign.id, since)
    counted = live_answer_counts(session, campaign.id, since, NOW)
    assert len(rows) == live
    assert sum(n for _, _, n in counted) == live
    assert [at for at, _, _ in counted] == sorted(at for at, _, _ in counted)
    assert len(counted) < len(rows)  # connected answers share buckets
    assert [at for at, abandoned, _ in counted if abandoned] == [at for at, abandoned in rows if abandoned]

    from_rows, from_counts = CampaignRunner("a", PLAN, profile), CampaignRunner("b", PLAN, profile)
    from_rows.restore(rows)
    from_counts.restore_counted(counted)
    assert isinstance(from_counts.pacer, pacing.PredictivePacer)
    assert from_rows.history.totals() == from_counts.history.totals()
    for later in (0.0, 600.0, 3601.0, 5 * 3600.0, DAY + 7.0, 10 * DAY):
        for w in windows:
            a = from_rows.pacer.ledger.window(w, NOW + later)  # type: ignore[attr-defined]
            b = from_counts.pacer.ledger.window(w, NOW + later)  # type: ignore[attr-defined]
            assert (b.live_answers, b.abandons) == (a.live_answers, a.abandons), (w, later)
        a = from_rows.brake.ledger.window(windows[-1], NOW + later)
        b = from_counts.brake.ledger.window(windows[-1], NOW + later)
        assert (b.live_answers, b.abandons) == (a.live_answers, a.abandons), later


def test_buckets_are_aligned_on_the_epoch_and_widen_with_age(session: Session, factory: Factory) -> None:
    campaign = factory.campaign(dial_lists=[factory.dial_list()])
    session.commit()
    ages = [1.0, 1.5, 4.0, 7200.0 + 10, 7200.0 + 30, 3 * DAY]
    session.execute(insert(Call), [
        {"campaign_id": campaign.id, "number": f"+1555000{i:04d}", "state": "ended", "outcome": "CONNECTED",
         "ended_at": datetime.fromtimestamp(NOW - age, UTC)}
        for i, age in enumerate(ages)
    ])
    session.commit()
    widths = [(2.5, NOW - 3600), (60.0, NOW - DAY), (1800.0, NOW - LIVE_ANSWERS_S)]
    got = counted_since(session, campaign.id, ["CONNECTED"], NOW - LIVE_ANSWERS_S, widths)
    expected: dict[float, int] = {}
    for age in ages:
        width = 2.5 if age <= 3600 else 60.0 if age <= DAY else 1800.0
        start = (NOW - age) // width * width
        expected[start] = expected.get(start, 0) + 1
    assert got == sorted(expected.items())
