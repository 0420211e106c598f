"""Showing a benchmark: one Rich table, JSON lines, an optional plot."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from rich.table import Table

from olive.bench._policies import policy_label
from olive.bench._runner import Summary

_CAPTION = (
    "occ: (talk + wrap-up) / logged-in time, after the warm-up; talk min, connects: per agent-hour; "
    "aband: abandoned / live answers from the first dial; 15 min, 1st h: the shift's first 15 minutes "
    "and hour; to-date: worst campaign-to-date rate after 100 live answers; worst h: worst rolling "
    "hour after the first; idle s: agent idle seconds per connect; failed: seeds that did not complete"
)


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


_AGENTLESS_CAPTION = (
    "agentless: no agents; every answer hears the message. dials/h, messages/h: per measured hour; "
    "lines: calls in progress (ringing or playing the message), time-averaged; listened s: how long "
    "an answer heard the message; failed: seeds that did not complete"
)


def agentless_table(summaries: Sequence[Summary], title: str = "olive bench") -> Table:
    """Agentless cells: what the plan's two limits let through, and how busy the lines were."""
    out = Table(title=title, title_justify="left", caption=_AGENTLESS_CAPTION, caption_justify="left")
    out.add_column("cell", no_wrap=True)
    out.add_column("policy", no_wrap=True)
    for name in ("dials/h", "messages/h", "lines", "listened s", "failed"):
        out.add_column(name, justify="right", no_wrap=True)
    for s in summaries:
        out.add_row(
            s.cell,
            policy_label(s.policy),
            f"{s.dials_per_hour:.0f}",
            f"{s.messages_per_hour:.0f}",
            f"{s.mean_lines_in_use:.1f}",
            f"{s.mean_message_s:.1f}",
            f"[red]{len(s.failures)}[/red]" if s.failures else "",
        )
    return out


def table(summaries: Sequence[Summary], title: str = "olive bench") -> Table:
    """One row per (cell, policy), cells in scenario order, policies in the order run.

    A scenario of agentless cells only gets :func:`agentless_table`; in a mixed one their
    rows are dashes but for the messages per hour (run them alone for their own table).
    """
    if summaries and all(s.policy == "agentless" for s in summaries):
        return agentless_table(summaries, title)
    out = Table(title=title, title_justify="left", caption=_CAPTION, caption_justify="left")
    out.add_column("cell", no_wrap=True)
    out.add_column("policy", no_wrap=True)
    for name in (
        "occ %", "talk min", "connects", "aband %", "15 min %", "1st h %", "to-date %", "worst h %",
        "dials/conn", "idle s", "failed",
    ):  # fmt: skip
        out.add_column(name, justify="right", no_wrap=True)
    previous = None
    for s in summaries:
        if previous is not None and s.cell != previous:
            out.add_section()
        if s.policy == "agentless":
            out.add_row(
                s.cell if s.cell != previous else "",
                policy_label(s.policy),
                *(["-"] * 9),
                f"{s.messages_per_hour:.0f} msg/h",
                f"[red]{len(s.failures)}[/red]" if s.failures else "",
            )
            previous = s.cell
            continue
        worst = _percent(s.abandon_rate_worst_hour)
        out.add_row(
            s.cell if s.cell != previous else "",
            policy_label(s.policy),
            f"{100 * s.occupancy:.1f}",
            f"{s.talk_min_per_agent_hour:.1f}",
            f"{s.connects_per_agent_hour:.1f}",
            f"{100 * s.abandon_rate:.2f}",
            _percent(s.abandon_rate_first_15min),
            _percent(s.abandon_rate_first_hour),
            _percent(s.abandon_rate_worst_to_date),
            worst,
            f"{s.dials_per_connect:.2f}",
            f"{s.idle_s_between_connects:.1f}",
            f"[red]{len(s.failures)}[/red]" if s.failures else "",
        )
        previous = s.cell
    return out


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.2f}"


def failure_lines(summaries: Sequence[Summary]) -> Iterator[str]:
    """One line per seed that failed: cell, policy, seed and the error."""
    for s in summaries:
        for failure in s.failures:
            yield f"{s.cell} / {policy_label(s.policy)}: {failure}"


def json_lines(summaries: Sequence[Summary]) -> Iterator[str]:
    for s in summaries:
        yield json.dumps(s.as_json(), sort_keys=False)


def require_matplotlib() -> None:
    """Raise :class:`PlotUnavailable` with install advice unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable(
            "--plot needs matplotlib, which is not installed; install the plot extra: "
            "pip install 'olive-dialer[plot]'"
        ) from None


def plot(summaries: Sequence[Summary], path: Path) -> None:
    """Occupancy against abandon rate, one marker style per policy, each point named by its cell."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 6))
    policies = list(dict.fromkeys(s.policy for s in summaries))
    for marker, policy in zip("osD^v", policies, strict=False):
        points = [s for s in summaries if s.policy == policy]
        axes.scatter(
            [100 * s.abandon_rate for s in points],
            [100 * s.occupancy for s in points],
            marker=marker,
            label=policy_label(policy),
        )
        for s in points:
            axes.annotate(s.cell, (100 * s.abandon_rate, 100 * s.occupancy), fontsize=7, alpha=0.7)
    axes.set_xlabel("abandon rate, % of live answers")
    axes.set_ylabel("agent occupancy, %")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
