"""Turn ``olive bench --json`` output into the markdown results table of docs/pacing.md.

    olive bench benchmarks/standard-grid.toml --json > results.jsonl
    python benchmarks/compare_anchors.py results.jsonl

Each cell's row: occupancy / abandon % for each policy, the anchors, and how
far olive predictive is from the per-agent tuned anchor.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

ANCHORS = tomllib.loads((Path(__file__).parent / "anchors.toml").read_text())


def _cell(summary: dict[str, object]) -> str:
    occupancy = 100 * float(summary["occupancy"])  # type: ignore[arg-type]
    abandon = 100 * float(summary["abandon_rate"])  # type: ignore[arg-type]
    worst = summary.get("abandon_rate_worst_hour")
    worst_text = "-" if worst is None else f"{100 * float(worst):.1f}"  # type: ignore[arg-type]
    return f"{occupancy:.1f} / {abandon:.2f} / {worst_text}"


def main(path: str) -> None:
    rows: dict[str, dict[str, dict[str, object]]] = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("{"):
            summary = json.loads(line)
            rows.setdefault(summary["cell"], {})[summary["policy"]] = summary
    print(
        "| cell | progressive | VICIdial adaptive | olive predictive "
        "| anchor: progressive | anchor: VICIdial | anchor: per-agent tuned | olive minus tuned |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for cell, by_policy in rows.items():
        rate = cell.rsplit("-p", 1)[-1]
        tuned = ANCHORS["per_agent_tuned"].get(cell)
        predictive = by_policy.get("predictive")
        gap = "" if tuned is None or predictive is None else f"{100 * float(predictive['occupancy']) - tuned:+.1f}"  # type: ignore[arg-type]
        print(
            f"| {cell} | "
            + " | ".join(_cell(by_policy[p]) if p in by_policy else "" for p in ("progressive", "vicidial", "predictive"))
            + f" | {ANCHORS['progressive'].get(rate, '')} | {ANCHORS['vicidial'].get(cell, '')} | {tuned or ''} | {gap} |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
