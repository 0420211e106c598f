"""The live view of a running campaign: progress bar, outcomes, agents."""

from __future__ import annotations

from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from olive.calls import AgentState, Outcome
from olive.engine import CampaignReport

OUTCOME_ORDER = tuple(o.value for o in Outcome)
_STYLE = {
    AgentState.READY: "green",
    AgentState.ON_CALL: "cyan",
    AgentState.RINGING: "yellow",
    AgentState.WRAP_UP: "blue",
    AgentState.PAUSED: "magenta",
    AgentState.LOGGED_OUT: "dim",
}
STATE_STYLE = {s.value: style for s, style in _STYLE.items()}


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


class LiveView:
    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("contacts"),
            TimeElapsedColumn(),
        )
        self.task = self.progress.add_task("campaign", total=None)

    def render(self, report: CampaignReport, speed: float | None = None) -> Group:
        self.progress.update(
            self.task,
            description=f"{report.name} ({report.status})",
            total=max(1, report.contacts_total),
            completed=report.contacts_finished,
        )
        outcomes = Table(title="Calls by outcome", title_justify="left", expand=False)
        outcomes.add_column("outcome")
        outcomes.add_column("calls", justify="right")
        for name in OUTCOME_ORDER:
            if report.outcomes.get(name):
                outcomes.add_row(name, str(report.outcomes[name]))
        outcomes.add_row("[bold]in progress", f"[bold]{report.active_calls}")
        agents = Table(title="Agents", title_justify="left", expand=False)
        agents.add_column("agent")
        agents.add_column("state")
        for a in report.agents:
            style = STATE_STYLE.get(a["state"], "")
            agents.add_row(a["name"], f"[{style}]{a['state']}[/]" if style else a["state"])
        layout = Table.grid(padding=(0, 4))
        layout.add_row(outcomes, agents)
        ab = report.abandon["campaign"]
        line = (
            f"abandon rate {pct(ab['rate'])} ({ab['abandoned']}/{ab['live_answers']} live answers)   "
            f"occupancy {pct(report.occupancy)}   "
            f"connects/agent-hour {report.connects_per_agent_hour or 0:.1f}"
        )
        if speed:
            line += f"   speed x{speed:g}"
        parts: list[object] = [self.progress, layout, line]
        if report.note:
            parts.append(f"[dim]{report.note}")
        return Group(*parts)  # type: ignore[arg-type]


def summary_table(report: CampaignReport) -> Table:
    table = Table(title=f"Campaign {report.name}: {report.status}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name in OUTCOME_ORDER:
        if report.outcomes.get(name):
            table.add_row(f"calls {name}", str(report.outcomes[name]))
    table.add_row("calls in all", str(report.calls))
    ab = report.abandon["campaign"]
    table.add_row("abandon rate (abandoned / live answers)", f"{pct(ab['rate'])} ({ab['abandoned']}/{ab['live_answers']})")
    table.add_row("agent occupancy", pct(report.occupancy))
    table.add_row("connects per agent-hour", f"{report.connects_per_agent_hour or 0:.1f}")
    table.add_row("talk minutes per agent-hour", f"{report.talk_min_per_agent_hour or 0:.1f}")
    table.add_row("agent hours", f"{report.agent_hours:.2f}")
    table.add_row("contacts done / exhausted / left", f"{report.contacts.get('done', 0)} / {report.contacts.get('exhausted', 0)} / {report.contacts.get('pending', 0) + report.contacts.get('dialing', 0)}")
    return table
