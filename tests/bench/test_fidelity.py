"""The simulator against the closed form for progressive pacing.

Progressive pacing keeps exactly one call on the way per idle agent, so each
agent alternates handle time and idle time, and the idle time per connect is
``(1 - p)/p x mean non-answer time + mean answer delay``: occupancy is
``handle / (handle + idle)``. A simulator that misses this by more than half a
point is wrong (anchors.md).

Each case runs four seeds of 100 agents; the spread between seeds gives the
standard error, and the test first checks that three of them fit inside the
half-point tolerance, so a pass means something.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path

import pytest

from olive.bench import ShiftedGamma, load_scenario, simulate
from olive.pacing import ProgressivePacer

GRID = Path(__file__).parents[2] / "benchmarks" / "standard-grid.toml"
TOLERANCE = 0.005  # half an occupancy point


def truncated_mean(d: ShiftedGamma) -> float:
    """Mean of shift + Gamma(shape, scale) conditioned on <= max_s, by Simpson's rule."""
    upper = (d.max_s if d.max_s is not None else d.shift_s + 40 * d.shape * d.scale_s) - d.shift_s
    steps = 20_000
    h = upper / steps

    def density(x: float) -> float:
        if x <= 0:
            return 0.0
        log = (d.shape - 1) * math.log(x) - x / d.scale_s - math.lgamma(d.shape) - d.shape * math.log(d.scale_s)
        return math.exp(log)

    mass = moment = 0.0
    for i in range(steps + 1):
        weight = 1 if i in (0, steps) else 4 if i % 2 else 2
        x = i * h
        mass += weight * density(x)
        moment += weight * x * density(x)
    return d.shift_s + moment / mass


@pytest.mark.slow
@pytest.mark.parametrize(("answer_rate", "hours"), [(0.3, 4.0), (0.6, 3.0)])
def test_progressive_matches_the_closed_form(answer_rate: float, hours: float) -> None:
    base = load_scenario(GRID).cell("a100-p0.3")
    cell = dataclasses.replace(base, answer_rate=answer_rate, warmup_minutes=15)
    assert isinstance(cell.answer_delay, ShiftedGamma)
    p, handle = answer_rate, cell.talk.mean + cell.wrapup.mean
    idle = (1 - p) / p * cell.no_answer.mean_s + truncated_mean(cell.answer_delay)
    expected = handle / (handle + idle)

    runs = [simulate(cell, ProgressivePacer(), seed, hours)[0] for seed in (1, 2, 3, 4)]
    by_seed = [m.busy_s / m.agent_s for m in runs]
    occupancy = sum(m.busy_s for m in runs) / sum(m.agent_s for m in runs)
    standard_error = statistics.stdev(by_seed) / math.sqrt(len(by_seed))

    assert 3 * standard_error < TOLERANCE, f"too short to judge: se {100 * standard_error:.2f} points"
    assert abs(occupancy - expected) < TOLERANCE, (
        f"occupancy {100 * occupancy:.2f}% vs closed form {100 * expected:.2f}%"
    )
    idle_per_connect = sum(m.agent_s - m.busy_s for m in runs) / sum(m.connects for m in runs)
    assert idle_per_connect == pytest.approx(idle, rel=0.03)
    assert all(m.abandons == 0 for m in runs)  # an agent waits for every call
