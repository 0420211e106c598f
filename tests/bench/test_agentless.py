"""Agentless cells: a recorded message to whoever answers, paced by the plan's two limits only."""

from __future__ import annotations

from pathlib import Path
from random import Random

import pytest

from olive.bench import POLICIES, ScenarioError, load_scenario, parse_scenario, plan, run, summarize

GRID = Path(__file__).parents[2] / "benchmarks" / "agentless-grid.toml"


def mean_line_s(cell_name: str) -> float:
    """How long one agentless dial holds a line: ringing, then the message if answered."""
    cell = load_scenario(GRID).cell(cell_name)
    assert cell.message is not None
    rng = Random(5)
    delay = sum(cell.answer_delay.sample(rng) for _ in range(200_000)) / 200_000  # truncated gamma
    answered = delay + cell.message.mean
    return cell.answer_rate * answered + (1 - cell.answer_rate) * cell.no_answer.mean_s


def summary(cell_name: str, hours: float = 1.0):  # type: ignore[no-untyped-def]
    tasks = plan(
        load_scenario(GRID), ["agentless"], cells=[cell_name], seeds=[1], hours_scale=hours / 2
    )
    (result,) = summarize(run(tasks, jobs=1))
    assert not result.failures
    return result


class TestLittlesLaw:
    def test_when_the_lines_bind_calls_go_out_as_fast_as_lines_free_up(self) -> None:
        # 30 lines, each held ~26 s a dial: ~1.14 dials a second, under the 2-a-second cap
        s = summary("agentless-p30-c30-cps2")
        expected = 3600.0 * 30 / mean_line_s("agentless-p30-c30-cps2")
        assert s.dials_per_hour == pytest.approx(expected, rel=0.03)
        assert s.mean_lines_in_use == pytest.approx(
            30.0, abs=0.6
        )  # never above the cap, rarely below
        assert s.messages_per_hour == pytest.approx(0.3 * s.dials_per_hour, rel=0.05)
        assert s.live_answers == s.abandons == 0  # nothing is offered to an agent

    def test_when_the_rate_binds_the_lines_hold_what_it_lets_through(self) -> None:
        s = summary("agentless-p30-c100-cps1")
        assert s.dials_per_hour == pytest.approx(3600.0, rel=0.01)
        assert s.mean_lines_in_use == pytest.approx(
            mean_line_s("agentless-p30-c100-cps1"), rel=0.05
        )

    def test_people_who_hang_up_early_free_lines_sooner(self) -> None:
        s = summary("agentless-p05-c50-cps5")
        assert s.mean_message_s == pytest.approx(12.0, rel=0.1)
        assert s.dials_per_hour == pytest.approx(
            3600.0 * 50 / mean_line_s("agentless-p05-c50-cps5"), rel=0.03
        )


BASE: dict[str, object] = {
        "defaults": {
            "hours": 1, "warmup_minutes": 0, "seeds": [1], "abandon_target": 0.03, "patience_s": 2.0,
            "answer_rate": 0.3, "agents": 0,
            "talk": {"dist": "fixed", "value_s": 1.0}, "wrapup": {"dist": "fixed", "value_s": 0.0},
            "answer_delay": {"dist": "fixed", "value_s": 5.0},
            "no_answer": {"fast_fail_share": 0.2, "fast_fail_s": 4.0, "ring_timeout_s": 25.0},
        }
}  # fmt: skip


class TestScenario:
    def test_an_agentless_cell_needs_a_limit_to_pace_it(self) -> None:
        with pytest.raises(ScenarioError, match="needs max_concurrent or max_calls_per_second"):
            parse_scenario(
                {
                    **BASE,
                    "cell": [{"name": "x", "message": {"dist": "fixed", "value_s": 20.0}}],
                }
            )

    def test_no_agents_without_a_message(self) -> None:
        with pytest.raises(ScenarioError, match="agents"):
            parse_scenario({**BASE, "cell": [{"name": "x", "max_concurrent": 5}]})

    def test_agentless_cells_run_the_agentless_policy_only(self) -> None:
        scenario = load_scenario(GRID)
        tasks = plan(scenario, list(POLICIES), seeds=[1])
        assert {t.policy for t in tasks} == {"agentless"}
        assert len(tasks) == len(scenario.cells)
