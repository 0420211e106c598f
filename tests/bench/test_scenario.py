"""Scenario files: the standard grid loads, defaults merge, mistakes are named."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from olive.bench import (
    Fixed,
    LogNormal,
    ScenarioError,
    ShiftedGamma,
    load_scenario,
    parse_scenario,
)

GRID = Path(__file__).parents[2] / "benchmarks" / "standard-grid.toml"

MINIMAL: dict[str, Any] = {
    "defaults": {
        "hours": 1,
        "warmup_minutes": 5,
        "seeds": [1],
        "abandon_target": 0.03,
        "patience_s": 2.0,
        "talk": {"dist": "lognormal", "mean_s": 120.0, "cv": 1.0},
        "wrapup": {"dist": "fixed", "value_s": 15.0},
        "answer_delay": {"dist": "shifted_gamma", "shift_s": 3.0, "shape": 3, "scale_s": 3.0, "max_s": 24.0},
        "no_answer": {"fast_fail_share": 0.25, "fast_fail_s": 4.0, "ring_timeout_s": 25.0},
    },
    "cell": [{"agents": 5, "answer_rate": 0.3}],
}


def scenario(**cell: Any) -> dict[str, Any]:
    return {"defaults": MINIMAL["defaults"], "cell": [{"agents": 5, "answer_rate": 0.3, **cell}]}


class TestStandardGrid:
    def test_loads_every_cell(self) -> None:
        grid = load_scenario(GRID)
        assert [c.name for c in grid.cells] == [
            "a5-p0.15", "a5-p0.3", "a5-p0.6", "a20-p0.15", "a20-p0.3", "a20-p0.6",
            "a100-p0.15", "a100-p0.3", "a100-p0.6", "drift-example",
        ]  # fmt: skip
        assert {c.agents * c.hours * len(c.seeds) for c in grid.cells[:9]} == {3000}

    def test_defaults_reach_every_cell(self) -> None:
        cell = load_scenario(GRID).cell("a20-p0.3")
        assert cell.talk == LogNormal(120.0, 1.0)
        assert cell.wrapup == Fixed(15.0)
        assert cell.answer_delay == ShiftedGamma(3.0, 3, 3.0, 24.0)
        assert cell.no_answer.mean_s == pytest.approx(19.75)
        assert (cell.warmup_minutes, cell.seeds, cell.patience_s) == (30.0, (1, 2, 3), 2.0)

    def test_drift_changes(self) -> None:
        drift = load_scenario(GRID).cell("drift-example")
        assert [(c.at_minutes, c.answer_rate, c.agents) for c in drift.changes] == [
            (60.0, 0.15, None),
            (180.0, None, 15),
        ]

    @pytest.mark.parametrize("name", ["standard-grid.toml", "extended-grid.toml"])
    def test_the_project_copy_is_the_shared_grid(self, name: str) -> None:
        shared = Path("/work/shared/bench") / name
        if not shared.exists():
            pytest.skip("no shared grid on this machine")
        assert tomllib.loads(shared.read_text()) == tomllib.loads((GRID.parent / name).read_text())

    def test_the_extended_and_stress_grids_load(self) -> None:
        extended = load_scenario(GRID.parent / "extended-grid.toml")
        assert {c.agents for c in extended.cells} >= {20, 200, 500, 1000}
        assert all(c.warmup_minutes == 0 for c in extended.cells)
        stress = load_scenario(GRID.parent / "stress-grid.toml")
        assert len(stress.cells) >= 6

    def test_ring_timeout_change(self) -> None:
        cell = parse_scenario(scenario(change=[{"at_minutes": 10, "ring_timeout_s": 45.0}])).cells[0]
        assert cell.changes[0].ring_timeout_s == 45.0


class TestMerging:
    def test_a_cell_overrides_keys_of_a_default_table(self) -> None:
        cell = parse_scenario(scenario(talk={"mean_s": 60.0})).cells[0]
        assert cell.talk == LogNormal(60.0, 1.0)

    def test_a_cell_naming_a_dist_replaces_the_table(self) -> None:
        cell = parse_scenario(scenario(talk={"dist": "exponential", "mean_s": 90.0})).cells[0]
        assert cell.talk.mean == 90.0

    def test_optional_keys(self) -> None:
        cell = parse_scenario(scenario(name="x", tick_s=0.5, max_concurrent=9, max_calls_per_second=3)).cells[0]
        assert (cell.name, cell.tick_s, cell.max_concurrent, cell.max_calls_per_second) == ("x", 0.5, 9, 3.0)

    def test_talk_mean_change(self) -> None:
        cell = parse_scenario(scenario(change=[{"at_minutes": 10, "talk_mean_s": 200.0}])).cells[0]
        assert cell.changes[0].talk_mean_s == 200.0


class TestErrors:
    @pytest.mark.parametrize(
        ("cell", "message"),
        [
            ({"agents": 0}, r"cell 1: agents must be an integer >= 1"),
            ({"answer_rate": 1.5}, r"answer_rate must be >= 0 and <= 1"),
            ({"colour": "red"}, r"cell 1: unknown key\(s\): colour"),
            ({"talk": {"dist": "weibull"}}, r"\[talk\]: dist must be one of"),
            ({"talk": {"dist": "lognormal", "mean_s": 1.0}}, r"\[talk\]: missing key\(s\): cv"),
            ({"change": [{"answer_rate": 0.1}]}, r"change 1: missing key\(s\): at_minutes"),
            ({"change": [{"at_minutes": 5}]}, r"change 1: changes nothing"),
            ({"seeds": []}, r"seeds must be a non-empty list"),
            ({"hours": "long"}, r"hours must be a number"),
        ],
    )
    def test_names_the_cell_and_the_key(self, cell: dict[str, Any], message: str) -> None:
        with pytest.raises(ScenarioError, match=message):
            parse_scenario(scenario(**cell), "grid.toml")

    def test_duplicate_names(self) -> None:
        data = {"defaults": MINIMAL["defaults"], "cell": [{"agents": 5, "answer_rate": 0.3}] * 2}
        with pytest.raises(ScenarioError, match=r"repeated: a5-p0\.3"):
            parse_scenario(data)

    def test_no_cells(self) -> None:
        with pytest.raises(ScenarioError, match=r"no \[\[cell\]\]"):
            parse_scenario({"defaults": MINIMAL["defaults"]})

    def test_bad_toml_and_missing_file(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.toml"
        bad.write_text("[defaults\n")
        with pytest.raises(ScenarioError, match="not valid TOML"):
            load_scenario(bad)
        with pytest.raises(ScenarioError, match="cannot read"):
            load_scenario(tmp_path / "missing.toml")
