"""The simulation: bookkeeping, determinism, common random numbers, drift."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from olive.bench import SHIFT_START, Change, Simulation, load_scenario, simulate
from olive.pacing import (
    DialDecision,
    DialResolved,
    Observation,
    PacingSnapshot,
    ProgressivePacer,
    make_pacer,
)

from .helpers import GRID, small_cell


class OneCallEvery:
    """Places one call every ``period`` seconds; remembers each dial's outcome in dial order."""

    mode = "test"

    def __init__(self, period: float) -> None:
        self.period = period
        self.next_at = 0.0
        self.outcomes: dict[float, bool] = {}

    def decide(self, snapshot: PacingSnapshot) -> DialDecision:
        if snapshot.now < self.next_at:
            return DialDecision(0, "wait")
        self.next_at = snapshot.now + self.period
        return DialDecision(1, "one")

    def observe(self, observation: Observation) -> None:
        if isinstance(observation, DialResolved):
            self.outcomes[observation.dialed_at] = observation.live

    def estimates(self) -> Mapping[str, float]:
        return {}


class TestBookkeeping:
    def test_every_live_answer_is_connected_or_abandoned(self) -> None:
        metrics, decisions = simulate(small_cell(warmup_minutes=0.0), make_pacer("power"), seed=1)
        assert metrics.live_answers > 100
        assert metrics.abandons > 0  # two lines per idle agent overflows now and then
        assert abs(metrics.live_answers - metrics.connects - metrics.abandons) <= 20  # a few straddle the edges
        assert 0.0 < metrics.busy_s < metrics.agent_s == 20 * 3600.0
        assert metrics.talk_s < metrics.busy_s
        assert decisions > 3600  # at least once per tick

    def test_progressive_never_abandons(self) -> None:
        metrics, _ = simulate(small_cell(), ProgressivePacer(), seed=2)
        assert metrics.abandons == 0

    def test_same_seed_same_result(self) -> None:
        a, _ = simulate(small_cell(), make_pacer("predictive"), seed=3)
        b, _ = simulate(small_cell(), make_pacer("predictive"), seed=3)
        assert a == b


class TestCommonRandomNumbers:
    def test_the_kth_dial_has_the_same_fate_whatever_the_policy(self) -> None:
        cell = small_cell(hours=0.5)
        fast, slow = OneCallEvery(3.0), OneCallEvery(7.0)
        Simulation(cell, fast, seed=5).run()
        Simulation(cell, slow, seed=5).run()
        by_order = [[live for _, live in sorted(p.outcomes.items())] for p in (fast, slow)]
        shared = min(map(len, by_order))
        assert shared > 100
        assert by_order[0][:shared] == by_order[1][:shared]

    def test_another_seed_another_fate(self) -> None:
        cell = small_cell(hours=0.5)
        one, two = OneCallEvery(3.0), OneCallEvery(3.0)
        Simulation(cell, one, seed=5).run()
        Simulation(cell, two, seed=6).run()
        assert list(one.outcomes.values()) != list(two.outcomes.values())


class TestDrift:
    def test_a_team_shrinks_idle_agents_first(self) -> None:
        cell = small_cell(warmup_minutes=0.0, changes=(Change(at_minutes=30.0, agents=10),))
        metrics, _ = simulate(cell, ProgressivePacer(), seed=1)
        assert 10 * 3600 < metrics.agent_s < 15.1 * 3600  # 20 agents, then 10 after the calls in hand

    def test_a_team_grows(self) -> None:
        cell = small_cell(warmup_minutes=0.0, changes=(Change(at_minutes=30.0, agents=30),))
        metrics, _ = simulate(cell, ProgressivePacer(), seed=1)
        assert metrics.agent_s == (20 * 1800 + 30 * 1800)

    def test_answer_rate_and_talk_changes_apply(self) -> None:
        drifting = small_cell(
            warmup_minutes=0.0,
            changes=(Change(at_minutes=0.0, answer_rate=0.6), Change(at_minutes=0.0, talk_mean_s=240.0)),
        )
        base, _ = simulate(small_cell(warmup_minutes=0.0), ProgressivePacer(), seed=1)
        drifted, _ = simulate(drifting, ProgressivePacer(), seed=1)
        assert drifted.dials / drifted.connects < base.dials / base.connects
        assert drifted.talk_s / drifted.connects > 1.5 * base.talk_s / base.connects

    def test_a_longer_dial_timeout_rings_calls_past_every_time_seen(self) -> None:
        # Issue 11, as found: the dial timeout goes from 25 s to 45 s mid-campaign, so calls
        # ring longer than any the predictive pacer has seen; it must forecast them, not crash.
        cell = small_cell(warmup_minutes=0.0, hours=0.5, changes=(Change(at_minutes=15.0, ring_timeout_s=45.0),))
        metrics, _ = simulate(cell, make_pacer("predictive"), seed=1)
        assert metrics.live_answers > 100
        ringing_out, _ = simulate(cell, ProgressivePacer(), seed=1)
        before, _ = simulate(dataclasses.replace(cell, changes=()), ProgressivePacer(), seed=1)
        assert ringing_out.dials < before.dials  # the change applies: agents wait longer per dial

    def test_worst_hour_starts_an_hour_into_the_shift(self) -> None:
        metrics, _ = simulate(small_cell(warmup_minutes=0.0, hours=1.5), make_pacer("power"), seed=1)
        assert metrics.start == SHIFT_START
        assert metrics.worst_hour() is None  # only 30 minutes after the first hour


class TestColdStart:
    def test_a_big_team_with_no_wrap_up_starts_safely(self) -> None:
        # Issue 11: 200 agents, no wrap-up, from the first dial. The pacer that left its cold
        # start on the 30 shortest calls ran its first five minutes at about 40 % abandons here.
        grid = load_scenario(GRID.parent / "extended-grid.toml")
        cell = dataclasses.replace(grid.cell("a200-p30-nowrap"), hours=5 / 60)
        metrics, _ = simulate(cell, make_pacer("predictive"), seed=1)
        assert metrics.live_answers > 400
        assert metrics.abandons <= 0.03 * metrics.live_answers
        assert metrics.worst_to_date <= 0.03  # at every abandon after the first 100 live answers
