"""Draw the predictive pacer's first hour for 20, 200 and 1,000 agents (docs/pacing-cold-start.png).

    python benchmarks/cold_start_plot.py docs/pacing-cold-start.png

Each team is the extended grid's a200-p30 cell (answer rate 0.3, lognormal talk
of 120 s, 15 s wrap-up, no warm-up) with its size changed, one seed, one hour.
Top: the campaign-to-date abandon rate, minute by minute, from the first dial
(drawn once 100 live answers are in, where the bench starts judging it).
Bottom: the dial level, dials per minute per logged-in agent, against
progressive pacing in the same cell.
"""

from __future__ import annotations

import dataclasses
import sys
from itertools import accumulate
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from olive.bench import build_pacer, load_scenario, simulate

GRID = Path(__file__).parent / "extended-grid.toml"
TEAMS = (20, 200, 1000)


def first_hour(agents: int, policy: str) -> tuple[list[float | None], list[float]]:
    cell = dataclasses.replace(load_scenario(GRID).cell("a200-p30"), agents=agents, hours=1.0, name=f"a{agents}")
    metrics, _ = simulate(cell, build_pacer(policy, cell), seed=1)
    live = list(accumulate(metrics.minute_live))
    abandons = list(accumulate(metrics.minute_abandons))
    to_date = [100.0 * a / n if n >= 100 else None for a, n in zip(abandons, live, strict=True)]
    level = [d / max(1, team) for d, team in zip(metrics.minute_dials, metrics.minute_agents, strict=True)]
    return to_date, level


def main(out: str) -> None:
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for agents, colour in zip(TEAMS, ("tab:blue", "tab:orange", "tab:green"), strict=True):
        to_date, level = first_hour(agents, "predictive")
        _, progressive = first_hour(agents, "progressive")
        minutes = [m + 1 for m in range(len(level))]
        top.plot(minutes, [float("nan") if r is None else r for r in to_date], color=colour, label=f"{agents} agents")
        bottom.plot(minutes, level, color=colour, label=f"{agents} agents, predictive")
        bottom.plot(minutes, progressive, color=colour, linestyle=":", alpha=0.7, label=f"{agents}, progressive")
        print(f"{agents} agents: to-date {to_date[-1]:.2f} % at 60 min", file=sys.stderr)
    top.axhline(3.0, color="red", linewidth=1, linestyle="--", label="3 % target")
    top.set_ylabel("campaign-to-date abandons, %")
    top.set_ylim(0, 4)
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    bottom.set_ylabel("dials per minute per agent")
    bottom.set_xlabel("minutes from the first dial")
    bottom.legend(fontsize=7, ncol=2)
    bottom.grid(alpha=0.3)
    figure.suptitle("olive predictive: the first hour (answer rate 0.3, 15 s wrap-up, one seed)")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/pacing-cold-start.png")
