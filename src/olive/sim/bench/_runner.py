"""Running a benchmark: every (cell, policy, seed), in parallel, summed per (cell, policy)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from olive.sim.bench._metrics import RunMetrics
from olive.sim.bench._policies import build_pacer
from olive.sim.bench._scenario import Cell, Scenario
from olive.sim.bench._simulation import SHIFT_START, simulate


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
    task: Task
    metrics: RunMetrics
    decisions: int
    wall_s: float

    @property
    def worst_hour(self) -> float | None:
        return self.metrics.worst_hour(SHIFT_START)


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
    abandon_rate: float
    abandon_rate_worst_hour: float | None  # the worst rolling hour of any seed
    dials_per_connect: float
    idle_s_between_connects: float
    live_answers: int
    abandons: int
    occupancy_by_seed: tuple[float, ...]
    wall_s: float

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
            "dials_per_connect": round(self.dials_per_connect, 3),
            "idle_s_between_connects": round(self.idle_s_between_connects, 2),
            "seeds": list(self.seeds),
            "hours": self.hours,
            "agent_hours": round(self.agent_hours, 1),
            "live_answers": self.live_answers,
            "abandons": self.abandons,
            "occupancy_by_seed": [round(x, 5) for x in self.occupancy_by_seed],
            "wall_s": round(self.wall_s, 1),
        }


def run_task(task: Task) -> RunResult:
    started = time.perf_counter()
    metrics, decisions = simulate(task.cell, build_pacer(task.policy, task.cell), task.seed, task.hours)
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
                    done(pending.pop(future), future.result())
    return [results[i] for i in range(len(tasks))]


def summarize(results: Iterable[RunResult]) -> list[Summary]:
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for result in results:
        groups.setdefault((result.task.cell.name, result.task.policy), []).append(result)
    summaries = []
    for (cell, policy), runs in groups.items():
        m = [r.metrics for r in runs]
        agent_s = sum(x.agent_s for x in m)
        busy_s = sum(x.busy_s for x in m)
        connects = sum(x.connects for x in m)
        live = sum(x.live_answers for x in m)
        abandons = sum(x.abandons for x in m)
        worst = [w for w in (r.worst_hour for r in runs) if w is not None]
        agent_hours = agent_s / 3600.0
        summaries.append(
            Summary(
                cell=cell,
                policy=policy,
                seeds=tuple(r.task.seed for r in runs),
                hours=runs[0].task.hours,
                agent_hours=agent_hours,
                occupancy=busy_s / agent_s if agent_s else 0.0,
                talk_min_per_agent_hour=sum(x.talk_s for x in m) / 60.0 / agent_hours if agent_s else 0.0,
                connects_per_agent_hour=connects / agent_hours if agent_s else 0.0,
                abandon_rate=abandons / live if live else 0.0,
                abandon_rate_worst_hour=max(worst) if worst else None,
                dials_per_connect=sum(x.dials for x in m) / connects if connects else 0.0,
                idle_s_between_connects=(agent_s - busy_s) / connects if connects else 0.0,
                live_answers=live,
                abandons=abandons,
                occupancy_by_seed=tuple(x.busy_s / x.agent_s if x.agent_s else 0.0 for x in m),
                wall_s=sum(r.wall_s for r in runs),
            )
        )
    return summaries
