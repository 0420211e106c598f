"""``olive bench SCENARIO_FILE``: compare pacing policies in virtual time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)


def bench(
    scenario_file: Annotated[
        Path, typer.Argument(help="A scenario TOML file, e.g. benchmarks/standard-grid.toml.")
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per (cell, policy) instead of the table.")
    ] = False,
    plot_path: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw occupancy against abandon rate to this PNG (needs matplotlib)."),
    ] = None,
    cells: Annotated[
        list[str] | None, typer.Option("--cell", help="Run only this cell (repeatable).")
    ] = None,
    policies: Annotated[
        list[str] | None,
        typer.Option("--policy", help="progressive, vicidial or predictive (repeatable; default all three)."),
    ] = None,
    seeds: Annotated[
        str | None, typer.Option("--seeds", help="Comma-separated seeds, instead of each cell's.")
    ] = None,
    hours_scale: Annotated[
        float,
        typer.Option(
            "--hours-scale", min=0.001, help="Multiply every cell's measured hours, e.g. 0.1 for a quick run."
        ),
    ] = 1.0,
    jobs: Annotated[int, typer.Option("--jobs", min=0, help="Simulations run at once (0: one per CPU).")] = 0,
) -> None:
    """Run pacing policies on the same simulated campaigns and the same random numbers."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from olive.bench import (
        POLICIES,
        PlotUnavailable,
        RunResult,
        ScenarioError,
        failure_lines,
        json_lines,
        load_scenario,
        plan,
        plot,
        require_matplotlib,
        run,
        summarize,
        table,
    )

    err = Console(stderr=True)
    chosen = policies or list(POLICIES)
    unknown = [p for p in chosen if p not in POLICIES]
    if unknown:
        raise typer.BadParameter(f"unknown policy {', '.join(unknown)} (known: {', '.join(POLICIES)})")
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()] if seeds else []
    except ValueError:
        raise typer.BadParameter(f"--seeds must be comma-separated integers, got {seeds!r}") from None
    try:
        if plot_path is not None:
            require_matplotlib()  # fail before a long run, not after it
    except PlotUnavailable as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    try:
        scenario = load_scenario(scenario_file)
        tasks = plan(scenario, chosen, cells=cells or (), seeds=seed_list, hours_scale=hours_scale)
    except (ScenarioError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} agent-hours"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=json_output,
    ) as progress:
        bar = progress.add_task(f"simulating {len(tasks)} shifts", total=sum(t.hours * t.cell.agents for t in tasks))

        def advance(result: RunResult) -> None:
            task = result.task
            progress.update(bar, advance=task.hours * task.cell.agents)

        results = run(tasks, jobs=jobs, on_done=advance)
    summaries = summarize(results)
    if json_output:
        for line in json_lines(summaries):
            typer.echo(line)
    else:
        out = Console()
        if not out.is_terminal:
            out.width = max(out.width, 170)  # a file or a pipe: no need to squeeze the table
        out.print(table(summaries, title=f"olive bench {scenario_file}"))
    failed = list(failure_lines(summaries))
    for line in failed:
        err.print(f"[red]failed:[/red] {escape(line)}")
    if plot_path is not None:
        try:
            plot(summaries, plot_path)
        except PlotUnavailable as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        err.print(f"plot written to {plot_path}")
    if failed:
        raise typer.Exit(1)  # every other cell and seed ran and is reported above
