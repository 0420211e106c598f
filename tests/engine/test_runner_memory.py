"""What the runner keeps for a rebuilt pacer (a new plan) is bounded however busy the campaign,
and the rebuilt pacer's abandon windows count what the old one counted.

Before, it kept every live answer of the last 31 days one by one, ~70 bytes each: the
4-hour soak at 1,000 agents' rate grew 5.7 MB an hour (docs/performance.md), several GB
by the month's end."""

from __future__ import annotations

import random

import pytest

from olive import pacing
from olive.engine._answer_history import LIVE_ANSWERS_S, AnswerHistory
from olive.engine._runner import CampaignRunner

T0 = 1_000_000_000.0
DAY = 86_400.0
PLAN = {"dial_mode": "predictive", "amd": "hangup", "amd_false_positive_share": 0.05}


def feed(runner: CampaignRunner, days: float, per_day: int, seed: int = 1) -> float:
    """Connected answers, every tenth one also an abandon and a machine, at random times."""
    rng = random.Random(seed)
    at = T0
    for i in range(int(days * per_day)):
        at += rng.expovariate(per_day / DAY)
        runner._observe(pacing.CallConnected(at, 1.0))
        if i % 10 == 0:
            runner._observe(pacing.CallAbandoned(at + 1.0, 3.0))
            runner._observe(pacing.MachineDetected(at + 2.0, 0.05))
    return at + 3.0


def test_a_busy_campaign_keeps_a_bounded_history() -> None:
    runner = CampaignRunner("k", PLAN, "us-tsr")
    feed(runner, days=2, per_day=60_000)  # 0.7 live answers a second, 120,000 in all
    abandons = runner.history.totals()[1]
    assert abandons == 12_000
    assert len(runner.history) - abandons <= 1440 * 3 + 3  # buckets: the three tiers, not 120,000 answers


def test_what_is_older_than_the_windows_is_forgotten() -> None:
    runner = CampaignRunner("k", PLAN, "us-tsr")
    end = feed(runner, days=60, per_day=50)
    connected, abandoned, share = runner.history.totals()
    # 31 of the 60 days (50 connected, 5 abandoned and 5 machines a day), not all 60
    assert 29 * 50 <= connected <= 32 * 50
    assert 29 * 5 <= abandoned <= 32 * 5
    assert 29 * 5 * 0.05 <= share <= 32 * 5 * 0.05
    assert all(kept.at >= end - LIVE_ANSWERS_S - 1800 for kept in runner.history.replay())


@pytest.mark.parametrize(("profile", "windows"), [("us-tsr", (3600.0, 30 * DAY)), ("uk-ofcom", (3600.0, DAY))])
def test_a_rebuilt_pacer_counts_what_the_old_one_counted_in_every_window(profile: str, windows: tuple[float, ...]) -> None:
    runner = CampaignRunner("k", PLAN, profile)
    now = feed(runner, days=45, per_day=3_000, seed=7)
    before = {w: runner.pacer.ledger.window(w, now) for w in windows}  # type: ignore[attr-defined]
    brake_before = runner.brake.ledger.window(windows[-1], now)
    runner.update_plan({**PLAN, "max_concurrent": 80}, profile)
    assert isinstance(runner.pacer, pacing.PredictivePacer)
    for w in windows:
        after = runner.pacer.ledger.window(w, now)
        assert (after.live_answers, after.abandons) == pytest.approx((before[w].live_answers, before[w].abandons))
        assert after.live_answers > 0
    brake_after = runner.brake.ledger.window(windows[-1], now)
    assert (brake_after.live_answers, brake_after.abandons) == pytest.approx((brake_before.live_answers, brake_before.abandons))


def test_restored_answers_are_bounded_too() -> None:
    runner = CampaignRunner("k", PLAN, "uk-ofcom")
    runner.restore([(T0 + i * 3600.0, i % 20 == 0) for i in range(24 * 40)])  # 40 days, hourly
    connected, abandoned, _ = runner.history.totals()
    assert connected + abandoned <= 31 * 24 + 1
    runner.restore_machines([(T0 + i * 3600.0, 0.05) for i in range(24 * 40)])
    assert runner.history.totals()[2] <= (31 * 24 + 1) * 0.05 + 1e-9


def test_late_answers_land_in_their_buckets_and_replay_oldest_first() -> None:
    history = AnswerHistory()
    for at in (100.0, 7200.0, 50.0, 7300.0, 10.0):
        history.connected(at)
    history.abandoned(7250.0)
    history.abandoned(60.0)  # late
    replayed = list(history.replay())
    assert [r.at for r in replayed] == sorted(r.at for r in replayed)
    assert history.totals() == (5, 2, 0.0)
    assert sum(r.count for r in replayed if isinstance(r, pacing.RestoredLiveAnswer)) == 7
