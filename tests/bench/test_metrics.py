"""Worst rolling hour."""

from __future__ import annotations

from olive.bench import RunMetrics, worst_rolling_rate


def test_worst_rolling_window() -> None:
    live = [10] * 120
    abandons = [0] * 120
    abandons[70] = 30  # one bad minute
    assert worst_rolling_rate(live, abandons, 60) == 30 / 600


def test_too_short_for_a_window() -> None:
    assert worst_rolling_rate([1] * 30, [0] * 30, 60) is None


def test_minutes_without_answers_are_skipped() -> None:
    assert worst_rolling_rate([0] * 60, [0] * 60, 60) == 0.0


def test_abandons_count_from_the_first_dial_and_occupancy_after_the_warm_up() -> None:
    m = RunMetrics(start=1800.0, end=7200.0, shift_start=0.0)  # 30-minute warm-up, 2 h shift
    for at in range(0, 100):
        m.live_answer(float(at))
    m.abandon(50.0)  # in the warm-up: the law counts it, so does the bench
    m.dial(10.0)
    assert (m.live_answers, m.abandons) == (100, 1)
    assert m.dials == 0  # dials and occupancy: after the warm-up
    assert m.first_minutes(15) == (100, 1)
    assert m.first_minutes(60) == (100, 1)


def test_worst_campaign_to_date_is_judged_after_100_live_answers() -> None:
    m = RunMetrics(start=0.0, end=3600.0, shift_start=0.0)
    m.live_answer(1.0)
    m.abandon(1.0)  # 1 of 1: not judged yet
    assert m.worst_to_date == 0.0
    for at in range(2, 101):
        m.live_answer(float(at))
    m.abandon(100.0)
    m.abandon(100.0)  # 3 of 100
    assert m.worst_to_date == 0.03
    for at in range(101, 201):
        m.live_answer(float(at))
    m.abandon(200.0)  # 4 of 200: the rate fell, the worst stays
    assert m.worst_to_date == 0.03
