"""The policies a benchmark compares, by name, each built fresh per run."""

from __future__ import annotations

from collections.abc import Callable

from olive.bench._scenario import Cell
from olive.bench._vicidial import AdaptiveDialLevelPacer
from olive.pacing import Pacer, PacerConfig, make_pacer


def pacer_config(cell: Cell) -> PacerConfig:
    """What the engine would configure for a campaign like the cell: only the plan's settings."""
    return PacerConfig(
        abandon_target=cell.abandon_target,
        patience_s=cell.patience_s,
        max_concurrent=cell.max_concurrent,
        max_calls_per_second=cell.max_calls_per_second,
    )


POLICIES: dict[str, tuple[str, Callable[[Cell], Pacer]]] = {
    "progressive": ("progressive", lambda cell: make_pacer("progressive", pacer_config(cell))),
    "vicidial": ("VICIdial adaptive", lambda cell: AdaptiveDialLevelPacer()),
    "predictive": ("olive predictive", lambda cell: make_pacer("predictive", pacer_config(cell))),
    "agentless": ("agentless", lambda cell: make_pacer("agentless", pacer_config(cell))),
}


def applies(policy: str, cell: Cell) -> bool:
    """Agentless cells run the agentless policy only, and it runs on nothing else."""
    return (policy == "agentless") == cell.agentless


def build_pacer(policy: str, cell: Cell) -> Pacer:
    try:
        return POLICIES[policy][1](cell)
    except KeyError:
        raise ValueError(f"unknown policy {policy!r} (known: {', '.join(POLICIES)})") from None


def policy_label(policy: str) -> str:
    return POLICIES[policy][0]
