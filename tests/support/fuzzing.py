"""Deterministic or randomized property-based tests (see tests/conftest.py)."""

from __future__ import annotations

import os

RANDOMIZED_ENV = "OLIVE_TEST_RANDOMIZED"

#: How many times more examples a randomized run tries.
RANDOMIZED_FACTOR = 25

#: The fixed seed of the deterministic schemathesis runs.
SCHEMATHESIS_SEED = 13


def randomized() -> bool:
    return os.environ.get(RANDOMIZED_ENV, "") not in ("", "0")


def examples(deterministic: int) -> int:
    """``deterministic`` examples by default; many more in a randomized run."""
    return deterministic * RANDOMIZED_FACTOR if randomized() else deterministic


def schemathesis_config(config: dict[str, object]) -> dict[str, object]:
    """``config`` with a fixed seed and derandomized generation, unless the run is randomized."""
    if randomized():
        return config
    return {**config, "seed": SCHEMATHESIS_SEED, "generation": {"deterministic": True}}


__all__ = ["RANDOMIZED_ENV", "examples", "randomized", "schemathesis_config"]
