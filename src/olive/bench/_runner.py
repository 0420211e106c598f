"""Running a benchmark: every (cell, policy, seed), in parallel, summed per (cell, policy)."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from olive.bench._metrics import RunMetrics
from olive.bench._policies import applies, build_pacer
from olive.bench._scenario import Cell, Scenario
from olive.bench._simulation import simulate


@dataclass(frozen=True, slots=True)
class Task:
    cell: Cell
    policy: str
    seed: int
    hours: float

    @property
    def cost(self) -> float:
        """Rough relative run time, for progress: simulated agent-hours plus ticks."""
        return self.hours * (self.cell.agents + 20.0)


@dataclass(frozen=True, slots=True)
class RunResult:
    """One shift, or why it failed (``metrics`` is None and ``error`` says what was raised)."""

    task: Task
    metrics: RunMetrics | None
    decisions: int
    wall_s: float
    error: str | None = None

    @property
    def worst_hour(self) -> float | None:
        return None if self.metrics is None else self.metrics.worst_hour()


@dataclass(frozen=True, slots=True)
class Summary:
    """One (cell, policy): every seed's shift summed, rates recomputed from the sums."""

    cell: str
    policy: str
    seeds: tuple[int, ...]
    hours: float  # measured hours per seed
    agent_hours: float
    occupancy: float
    talk_min_per_agent_hour: float
    connects_per_agent_hour: float
    abandon_rate: float  # whole shift, from the first dial
    abandon_rate_worst_hour: float | None  # the worst rolling hour of any seed, after the first hour
    abandon_rate_first_15min: float | None  # seeds summed; None without a live answer
    abandon_rate_first_hour: float | None
    abandon_rate_worst_to_date: float  # the worst campaign-to-date rate of any seed, after 100 live answers
    dials_per_connect: float
    idle_s_between_connects: float
    live_answers: int
    abandons: int
    occupancy_by_seed: tuple[float, ...]
    wall_s: float
    failures: tuple[str, ...] = ()  # "seed N: error" for each seed that did not complete
    machines: int = 0  # AMD's MACHINE verdicts (not live answers)
    amd_people_estimated: float = 0.0  # machines x the plan's share of people among them
    amd_people_actual: int = 0  # the people AMD really took for machines (the simulation knows)
    messages: int = 0  # agentless: answers that heard the message, after the warm-up
    messages_per_hour: float = 0.0  # agentless, per measured hour (seeds averaged)
    dials_per_hour: float = 0.0  # per measured hour (seeds averaged)
    mean_lines_in_use: float = 0.0  # agentless: calls in progress (ringing or playing), time-averaged
    mean_message_s: float = 0.0  # agentless: how long an answer listened

    @property
    def abandon_rate_with_amd(self) -> float:
        """Ofcom's count: the estimated people among AMD's machines abandoned, on both sides."""
        live = self.live_answers + self.amd_people_estimated
        return (self.abandons + self.amd_people_estimated) / live if live else 0.0

    @property
    def abandon_rate_with_amd_actual(self) -> float:
        live = self.live_answers + self.amd_people_actual
        return (self.abandons + self.amd_people_actual) / live if live else 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "cell": self.cell,
            "policy": self.policy,
            "occupancy": round(self.occupancy, 5),
            "talk_min_per_agent_hour": round(self.talk_min_per_agent_hour, 3),
            "connects_per_agent_hour": round(self.connects_per_agent_hour, 3),
            "abandon_rate": round(self.abandon_rate, 5),
            "abandon_rate_worst_hour": (
                None if self.abandon_rate_worst_hour is None else round(self.abandon_rate_worst_hour, 5)
            ),
            "abandon_rate_first_15min": _round(self.abandon_rate_first_15min),
            "abandon_rate_first_hour": _round(self.abandon_rate_first_hour),
            "abandon_rate_worst_to_date": round(self.abandon_rate_worst_to_date, 5),
            "dials_per_connect": round(self.dials_per_connect, 3),
            "idle_s_between_connects": round(self.idle_s_between_connects, 2),
            "seeds": list(self.seeds),
            "hours": self.hours,
            "agent_hours": round(self.agent_hours, 1),
            "live_answers": self.live_answers,
            "abandons": self.abandons,
            "occupancy_by_seed": [round(x, 5) for x in self.occupancy_by_seed],
            "wall_s": round(self.wall_s, 1),
            "failures": list(self.failures),
            "machines": self.machines,
            "amd_people_estimated": round(self.amd_people_estimated, 2),
            "amd_people_actual": self.amd_people_actual,
            "abandon_rate_with_amd": round(self.abandon_rate_with_amd, 5),
            "abandon_rate_with_amd_actual": round(self.abandon_rate_with_amd_actual, 5),
            "messages": self.messages,
            "messages_per_hour": round(self.messages_per_hour, 1),
            "dials_per_hour": round(self.dials_per_hour, 1),
            "mean_lines_in_use": round(self.mean_lines_in_use, 2),
            "mean_message_s": round(self.mean_message_s, 2),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def _rate(live: float, abandons: float) -> float | None:
    return abandons / live if live else None


def run_task(task: Task) -> RunResult:
    """Run one shift; an exception becomes a failed result, so one seed never aborts a grid."""
    started = time.perf_counter()
    try:
        metrics, decisions = simulate(task.cell, build_pacer(task.policy, task.cell), task.seed, task.hours)
    except Exception as exc:  # reported per cell and seed; the grid goes on
        where = traceback.extract_tb(exc.__traceback__)[-1]
        error = f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"
        return RunResult(task, None, 0, time.perf_counter() - started, error)
    return RunResult(task, metrics, decisions, time.perf_counter() - started)


def plan(
    scenario: Scenario,
    policies: Sequence[str],
    *,
    cells: Sequence[str] = (),
    seeds: Sequence[int] = (),
    hours_scale: float = 1.0,
) -> list[Task]:
    """The runs to make: the chosen cells (all if none), policies and seeds (the cell's if none)."""
    chosen = [c for c in scenario.cells if not cells or c.name in cells]
    missing = set(cells) - {c.name for c in scenario.cells}
    if missing:
        names = ", ".join(c.name for c in scenario.cells)
        raise ValueError(f"no cell named {', '.join(sorted(missing))} (cells: {names})")
    return [
        Task(cell, policy, seed, cell.hours * hours_scale)
        for cell in chosen
        for seed in (seeds or cell.seeds)
        for policy in policies
        if applies(policy, cell)
    ]


def run(
    tasks: Sequence[Task], jobs: int = 0, on_done: Callable[[RunResult], None] | None = None
) -> list[RunResult]:
    """Run every task, ``jobs`` at a time (0: one per CPU); results in task order."""
    jobs = jobs or os.cpu_count() or 1
    results: dict[int, RunResult] = {}

    def done(index: int, result: RunResult) -> None:
        results[index] = result
        if on_done is not None:
            on_done(result)

    order = sorted(range(len(tasks)), key=lambda i: -tasks[i].cost)  # longest first
    if jobs == 1 or len(tasks) == 1:
        for index in order:
            done(index, run_task(tasks[index]))
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
            pending: dict[Future[RunResult], int] = {pool.submit(run_task, tasks[i]): i for i in order}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = pending.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # a dead worker fails its own task only
                        result = RunResult(tasks[index], None, 0, 0.0, f"{type(exc).__name__}: {exc}")
                    done(index, result)
    return [results[i] for i in range(len(tasks))]


def summarize(results: Iterable[RunResult]) -> list[Summary]:
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for result in results:
        groups.setdefault((result.task.cell.name, result.task.policy), []).append(result)
    summaries = []
    for (cell, policy), every_run in groups.items():
        runs = [r for r in every_run if r.metrics is not None]
        failures = tuple(f"seed {r.task.seed}: {r.error}" for r in every_run if r.metrics is None)
        m = [r.metrics for r in runs if r.metrics is not None]
        agent_s = sum(x.agent_s for x in m)
        busy_s = sum(x.busy_s for x in m)
        connects = sum(x.connects for x in m)
        live = sum(x.live_answers for x in m)
        abandons = sum(x.abandons for x in m)
        worst = [w for w in (r.worst_hour for r in runs) if w is not None]
        first_15 = [x.first_minutes(15) for x in m]
        first_hour = [x.first_minutes(60) for x in m]
        agent_hours = agent_s / 3600.0
        measured_s = sum(x.end - x.start for x in m)
        messages = sum(x.messages for x in m)
        summaries.append(
            Summary(
                cell=cell,
                policy=policy,
                seeds=tuple(r.task.seed for r in runs),
                hours=every_run[0].task.hours,
                agent_hours=agent_hours,
                occupancy=busy_s / agent_s if agent_s else 0.0,
                talk_min_per_agent_hour=sum(x.talk_s for x in m) / 60.0 / agent_hours if agent_s else 0.0,
                connects_per_agent_hour=connects / agent_hours if agent_s else 0.0,
                abandon_rate=abandons / live if live else 0.0,
                abandon_rate_worst_hour=max(worst) if worst else None,
                abandon_rate_first_15min=_rate(sum(f[0] for f in first_15), sum(f[1] for f in first_15)),
                abandon_rate_first_hour=_rate(sum(f[0] for f in first_hour), sum(f[1] for f in first_hour)),
                abandon_rate_worst_to_date=max((x.worst_to_date for x in m), default=0.0),
                dials_per_connect=sum(x.dials for x in m) / connects if connects else 0.0,
                idle_s_between_connects=(agent_s - busy_s) / connects if connects else 0.0,
                live_answers=live,
                abandons=abandons,
                occupancy_by_seed=tuple(x.busy_s / x.agent_s if x.agent_s else 0.0 for x in m),
                wall_s=sum(r.wall_s for r in every_run),
                failures=failures,
                machines=sum(x.machines for x in m),
                amd_people_estimated=sum(x.amd_estimate for x in m),
                amd_people_actual=sum(x.machine_people for x in m),
                messages=messages,
                messages_per_hour=3600.0 * messages / measured_s if measured_s else 0.0,
                dials_per_hour=3600.0 * sum(x.dials for x in m) / measured_s if measured_s else 0.0,
                mean_lines_in_use=sum(x.line_s for x in m) / measured_s if measured_s else 0.0,
                mean_message_s=sum(x.message_s for x in m) / messages if messages else 0.0,
            )
        )
    return summaries
