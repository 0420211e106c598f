"""Worst rolling hour."""

from __future__ import annotations

from olive.sim.bench import worst_rolling_rate


def test_worst_rolling_window() -> None:
    live = [10] * 120
    abandons = [0] * 120
    abandons[70] = 30  # one bad minute
    assert worst_rolling_rate(live, abandons, 60) == 30 / 600


def test_too_short_for_a_window() -> None:
    assert worst_rolling_rate([1] * 30, [0] * 30, 60) is None


def test_minutes_without_answers_are_skipped() -> None:
    assert worst_rolling_rate([0] * 60, [0] * 60, 60) == 0.0
