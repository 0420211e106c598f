"""``olive bench``: table, JSON lines, plot, choices and errors."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from olive.cli import bench as bench_command

GRID = Path(__file__).parents[2] / "benchmarks" / "standard-grid.toml"
QUICK = ["--cell", "a20-p0.3", "--seeds", "1", "--hours-scale", "0.01", "--jobs", "1"]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """olive."""

    bench_command.register(app)
    return app


def invoke(app: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(app, ["bench", str(GRID), *args])


def test_json_has_one_object_per_cell_and_policy(app: typer.Typer) -> None:
    result = invoke(app, *QUICK, "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["policy"] for r in rows] == ["progressive", "vicidial", "predictive"]
    for row in rows:
        for key in ("cell", "policy", "occupancy", "talk_min_per_agent_hour", "connects_per_agent_hour",
                    "abandon_rate", "abandon_rate_worst_hour", "abandon_rate_first_15min",
                    "abandon_rate_first_hour", "abandon_rate_worst_to_date", "dials_per_connect",
                    "idle_s_between_connects", "seeds", "hours"):  # fmt: skip
            assert key in row
        assert row["cell"] == "a20-p0.3" and row["seeds"] == [1]
        assert 0.0 < row["occupancy"] < 1.0


def test_table(app: typer.Typer) -> None:
    result = invoke(app, *QUICK, "--policy", "progressive")
    assert result.exit_code == 0, result.output
    assert "a20-p0.3" in result.stdout and "progressive" in result.stdout
    assert "olive predictive" not in result.stdout


def test_plot(app: typer.Typer, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "plot.png"
    result = invoke(app, *QUICK, "--policy", "progressive", "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_get_it(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = invoke(app, *QUICK, "--plot", "out.png")
    assert result.exit_code == 2
    assert "olive-dialer[plot]" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "turbo"], "unknown policy turbo"),
        (["--cell", "nope"], "no cell named nope"),
        (["--seeds", "one"], "comma-separated integers"),
    ],
)
def test_errors(app: typer.Typer, args: list[str], message: str) -> None:
    result = invoke(app, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_a_failing_seed_is_reported_and_the_rest_runs(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    from olive.bench import _runner

    real = _runner.simulate

    def broken_on_seed_2(cell: Any, pacer: Any, seed: int, hours: float | None = None) -> Any:
        if seed == 2:
            raise IndexError("tuple index out of range")
        return real(cell, pacer, seed, hours)

    monkeypatch.setattr(_runner, "simulate", broken_on_seed_2)
    args = ["--cell", "a20-p0.3", "--seeds", "1,2", "--hours-scale", "0.01", "--jobs", "1", "--policy", "progressive"]
    result = invoke(app, *args, "--json")
    assert result.exit_code == 1  # the run is not clean, but it finished
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 1 and rows[0]["seeds"] == [1] and rows[0]["occupancy"] > 0
    assert rows[0]["failures"] == [rows[0]["failures"][0]] and "seed 2: IndexError" in rows[0]["failures"][0]
    assert "failed:" in result.stderr and "seed 2" in result.stderr
