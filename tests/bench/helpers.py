"""Small cells for fast simulation tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from olive.bench import Cell, load_scenario

GRID = Path(__file__).parents[2] / "benchmarks" / "standard-grid.toml"


def small_cell(**changes: Any) -> Cell:
    base = load_scenario(GRID).cell("a20-p0.3")
    return dataclasses.replace(base, **{"warmup_minutes": 10.0, "hours": 1.0, **changes})
