"""The VICIdial-manner baseline: its 15 s loop, its clamp and its drop brakes."""

from __future__ import annotations

from olive.bench import AdaptiveDialLevelPacer, AdaptiveSettings
from olive.pacing import CallAbandoned, DialPlaced, DialResolved
from pacing.helpers import NOW, snapshot


def run_loop(pacer: AdaptiveDialLevelPacer, seconds: int, start: float = NOW, **team: object) -> float:
    for s in range(seconds + 1):
        pacer.decide(snapshot(now=start + s, **team))  # type: ignore[arg-type]
    return start + seconds


class TestDialLevel:
    def test_ready_agents_raise_the_level_every_15_seconds(self) -> None:
        pacer = AdaptiveDialLevelPacer()
        run_loop(pacer, 14, idle=5, talking=[30.0] * 15)
        assert pacer.level == 1.0
        run_loop(pacer, 1, start=NOW + 15, idle=5, talking=[30.0] * 15)
        assert pacer.level == 1.25  # 1 x (1 + 5 ready / 20 agents)

    def test_clamped_at_the_maximum(self) -> None:
        pacer = AdaptiveDialLevelPacer(AdaptiveSettings(max_level=2.0))
        run_loop(pacer, 120, idle=10, talking=[30.0] * 10)
        assert pacer.level == 2.0

    def test_waiting_calls_lower_it_but_never_under_one(self) -> None:
        pacer = AdaptiveDialLevelPacer()
        pacer.level = 1.5
        run_loop(pacer, 15, talking=[30.0] * 10, waiting=5)
        assert pacer.level == 1.0

    def test_intensity_scales_the_step(self) -> None:
        pacer = AdaptiveDialLevelPacer(AdaptiveSettings(intensity=20))
        run_loop(pacer, 15, idle=5, talking=[30.0] * 15)
        assert pacer.level == 1.3

    def test_lines_are_level_times_ready_and_in_call_agents(self) -> None:
        pacer = AdaptiveDialLevelPacer()
        pacer.level = 2.0
        decision = pacer.decide(snapshot(idle=3, talking=[30.0] * 5, wrapup=[5.0] * 4, dialing=[1.0] * 6))
        assert decision.dials == 16 - 6 - 5  # wrap-up agents count for nothing; talking calls use lines


class TestDropBrakes:
    def test_over_the_drop_percentage_today_sets_level_one(self) -> None:
        pacer = AdaptiveDialLevelPacer()
        pacer.level = 2.5
        for i in range(60):
            pacer.observe(DialPlaced(NOW + i))
            pacer.observe(DialResolved(NOW + i + 10, NOW + i, live=True))
        for i in range(3):
            pacer.observe(CallAbandoned(NOW + 20 + i, 2.0))  # 5 % of answers
        run_loop(pacer, 90, idle=0, talking=[30.0] * 20)
        assert pacer.level == 1.0

    def test_a_new_day_forgets_the_drops(self) -> None:
        pacer = AdaptiveDialLevelPacer()
        for i in range(60):
            pacer.observe(DialPlaced(NOW + i))
            pacer.observe(CallAbandoned(NOW + i, 2.0))
        tomorrow = NOW + 86_400
        run_loop(pacer, 90, start=tomorrow, idle=5, talking=[30.0] * 15)
        assert pacer.level > 1.0
