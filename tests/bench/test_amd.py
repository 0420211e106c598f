"""Answering machines in the bench: AMD listens, machines are hung up, and the pacer learns
them as non-live; the predictive pacer dials ahead of progressive with 40 % machines while
abandons, counted with AMD's estimated people among its machines (Ofcom), stay <= 3 %."""

from __future__ import annotations

import dataclasses

import pytest

from olive.bench import Amd, build_pacer, load_scenario, parse_scenario, simulate
from olive.bench._metrics import RunMetrics
from olive.pacing import (
    DialDecision,
    DialResolved,
    MachineDetected,
    Observation,
    PacingSnapshot,
    PredictivePacer,
)

from .helpers import GRID, small_cell

AMD = Amd(machine_share=0.4, human_s=2.5, machine_s=3.5, false_positive=0.01, false_negative=0.10)


def occupancy(m: RunMetrics) -> float:
    return m.busy_s / m.agent_s


def rate_with_amd(m: RunMetrics, people: float) -> float:
    return (m.abandons + people) / (m.live_answers + people)


def test_forty_percent_machines_predictive_dials_ahead_of_progressive_within_the_abandon_cap() -> None:
    cell = small_cell(name="a20-p0.3-m40", amd=AMD, hours=2.0, warmup_minutes=20.0)
    progressive, _ = simulate(cell, build_pacer("progressive", cell), seed=1)
    pacer = build_pacer("predictive", cell)
    predictive, _ = simulate(cell, pacer, seed=1)
    assert predictive.machines > 0.3 * (predictive.live_answers + predictive.machines)
    assert occupancy(predictive) > occupancy(progressive) + 0.10
    assert rate_with_amd(predictive, predictive.amd_estimate) <= 0.03  # the plan's estimate, as the law asks
    assert rate_with_amd(predictive, predictive.machine_people) <= 0.03  # and the people AMD really hung up on
    assert isinstance(pacer, PredictivePacer)
    # The answer rate it learned is the people's (and the machines AMD let through), not every pick-up:
    # 0.3 x (0.6 x 0.99 + 0.4 x 0.10) = 0.19, where counting machines as live would say 0.3.
    assert pacer.estimates()["answer_rate"] == pytest.approx(0.19, abs=0.03)


class Recorder:
    mode = "recorder"

    def __init__(self, cell: object) -> None:
        self.inner = build_pacer("progressive", small_cell())
        self.seen: list[Observation] = []

    def decide(self, snapshot: PacingSnapshot) -> DialDecision:
        return self.inner.decide(snapshot)

    def observe(self, observation: Observation) -> None:
        self.seen.append(observation)
        self.inner.observe(observation)

    def estimates(self) -> dict[str, float]:
        return {}


def test_a_machine_resolves_non_live_at_amds_verdict() -> None:
    cell = small_cell(amd=dataclasses.replace(AMD, machine_share=1.0, false_negative=0.0), hours=0.2)
    recorder = Recorder(cell)
    metrics, _ = simulate(cell, recorder, seed=3)
    resolved = [o for o in recorder.seen if isinstance(o, DialResolved)]
    machines = [o for o in recorder.seen if isinstance(o, MachineDetected)]
    assert not any(o.live for o in resolved) and metrics.live_answers == 0
    assert len(machines) == metrics.machines > 0
    # Every machine resolved at least the AMD time after the earliest possible answer (3 s).
    machine_times = {o.at for o in machines}
    assert all(o.at - o.dialed_at >= 3.0 + AMD.machine_s - 1e-9 for o in resolved if o.at in machine_times)


def test_the_scenario_reads_amd_and_estimates_the_people_among_machines() -> None:
    data = {
        "defaults": {"hours": 1, "warmup_minutes": 0, "seeds": [1], "abandon_target": 0.03, "patience_s": 2.0,
                     "talk": {"dist": "fixed", "value_s": 60}, "wrapup": {"dist": "fixed", "value_s": 5},
                     "answer_delay": {"dist": "fixed", "value_s": 5},
                     "no_answer": {"fast_fail_share": 0.2, "fast_fail_s": 4, "ring_timeout_s": 25}},
        "cell": [{"agents": 5, "answer_rate": 0.3, "amd": {"machine_share": 0.4, "false_positive": 0.05}}],
    }
    amd = parse_scenario(data).cells[0].amd
    assert amd is not None and amd.person_share == pytest.approx(0.6 * 0.05 / (0.6 * 0.05 + 0.4 * 0.9))
    assert load_scenario(GRID).cells[0].amd is None
