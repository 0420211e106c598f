"""The runner keeps live answers and AMD's machines for a rebuilt pacer only as far back as
the abandon windows they serve (LIVE_ANSWERS_S, as far as a restarted engine reads): before,
it kept every live answer of the campaign's life, about 40 bytes each, 40 MB a month at
1,000 agents."""

from __future__ import annotations

import pytest

from olive import pacing
from olive.engine._runner import LIVE_ANSWERS_S, CampaignRunner

T0 = 1_000_000_000.0
DAY = 86_400.0
PLAN = {"dial_mode": "predictive", "amd": "hangup", "amd_false_positive_share": 0.05}


def feed(runner: CampaignRunner, days: int, per_day: int) -> None:
    for day in range(days):
        for i in range(per_day):
            at = T0 + day * DAY + i * (DAY / per_day)
            runner._observe(pacing.CallConnected(at, 1.0))
            if i % 10 == 0:
                runner._observe(pacing.CallAbandoned(at + 1.0, 3.0))
                runner._observe(pacing.MachineDetected(at + 2.0, 0.05))


def test_live_answers_and_machines_older_than_the_windows_are_forgotten() -> None:
    runner = CampaignRunner("k", PLAN, "us-tsr")
    feed(runner, days=60, per_day=50)
    newest = runner._live_answers[-1].at
    assert runner._live_answers[0].at >= newest - LIVE_ANSWERS_S
    assert runner._machines[0].at >= runner._machines[-1].at - LIVE_ANSWERS_S
    # 31 of the 60 days (55 a day: 50 connected, 5 abandoned), not all 3,300
    assert len(runner._live_answers) <= 32 * 55
    assert len(runner._machines) <= 32 * 5


def test_a_rebuilt_pacer_sees_the_same_30_day_window() -> None:
    runner = CampaignRunner("k", PLAN, "us-tsr")
    feed(runner, days=45, per_day=40)
    now = runner._live_answers[-1].at + 1.0
    before = runner.brake.ledger.window(30 * DAY, now)
    runner.update_plan({**PLAN, "max_concurrent": 80}, "us-tsr")
    after = runner.brake.ledger.window(30 * DAY, now)
    assert (after.live_answers, after.abandons) == pytest.approx((before.live_answers, before.abandons))
    assert after.live_answers > 0
    assert isinstance(runner.pacer, pacing.PredictivePacer)
    assert runner.pacer.ledger.window(30 * DAY, now).abandons == pytest.approx(before.abandons)


def test_restored_answers_are_bounded_too() -> None:
    runner = CampaignRunner("k", PLAN, "uk-ofcom")
    runner.restore([(T0 + i * 3600.0, i % 20 == 0) for i in range(24 * 40)])  # 40 days, hourly
    assert len(runner._live_answers) <= 31 * 24 + 1
    runner.restore_machines([(T0 + i * 3600.0, 0.05) for i in range(24 * 40)])
    assert len(runner._machines) <= 31 * 24 + 1
