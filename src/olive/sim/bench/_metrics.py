"""What one simulated shift measured, after the warm-up, and how seeds add up."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from olive.pacing import AgentActivity, AgentSnapshot

WORST_HOUR_NOT_BEFORE_S = 3600.0  # rolling hours are judged from the end of the shift's first hour


class _BusyAgent(Protocol):
    @property
    def view(self) -> AgentSnapshot: ...
    @property
    def busy_since(self) -> float: ...
    @property
    def talk_s(self) -> float: ...
    @property
    def wrapup_s(self) -> float: ...


def _overlap(a: float, b: float, start: float, end: float) -> float:
    return max(0.0, min(b, end) - max(a, start))


@dataclass(slots=True)
class RunMetrics:
    """Counts for one (cell, policy, seed) over the measured period [start, end)."""

    start: float
    end: float
    agent_s: float = 0.0  # logged-in agent time
    busy_s: float = 0.0  # talk + wrap-up time
    talk_s: float = 0.0
    dials: int = 0
    live_answers: int = 0
    abandons: int = 0
    connects: int = 0
    minute_live: list[int] = field(default_factory=list)
    minute_abandons: list[int] = field(default_factory=list)
    _team: int = 0
    _team_since: float = 0.0

    def __post_init__(self) -> None:
        minutes = math.ceil((self.end - self.start) / 60.0 - 1e-9)
        self.minute_live = [0] * minutes
        self.minute_abandons = [0] * minutes

    def _minute(self, at: float) -> int:
        return min(len(self.minute_live) - 1, int((at - self.start) / 60.0))

    def dial(self, at: float) -> None:
        if self.start <= at < self.end:
            self.dials += 1

    def live_answer(self, at: float) -> None:
        if self.start <= at < self.end:
            self.live_answers += 1
            self.minute_live[self._minute(at)] += 1

    def abandon(self, answered_at: float) -> None:
        if self.start <= answered_at < self.end:
            self.abandons += 1
            self.minute_abandons[self._minute(answered_at)] += 1

    def connect(self, at: float) -> None:
        if self.start <= at < self.end:
            self.connects += 1

    def handled(self, busy_since: float, talk_s: float, free_at: float) -> None:
        self.busy_s += _overlap(busy_since, free_at, self.start, self.end)
        self.talk_s += _overlap(busy_since, busy_since + talk_s, self.start, self.end)

    def team(self, size: int, at: float) -> None:
        self.agent_s += self._team * _overlap(self._team_since, at, self.start, self.end)
        self._team, self._team_since = size, at

    def finish(self, agents: Iterable[_BusyAgent]) -> None:
        for agent in agents:
            if agent.view.activity in (AgentActivity.TALKING, AgentActivity.WRAPUP):
                free_at = agent.busy_since + agent.talk_s + agent.wrapup_s
                self.handled(agent.busy_since, agent.talk_s, free_at)
        self.team(self._team, self.end)

    def worst_hour(self, shift_start: float) -> float | None:
        """The highest abandon rate over rolling 60-minute windows (1-minute steps).

        Windows start no earlier than one hour into the shift and lie inside the
        measured period; None if no window fits.
        """
        first = max(0, math.ceil((shift_start + WORST_HOUR_NOT_BEFORE_S - self.start) / 60.0 - 1e-9))
        return worst_rolling_rate(self.minute_live[first:], self.minute_abandons[first:], 60)


def worst_rolling_rate(live: Sequence[int], abandons: Sequence[int], width: int) -> float | None:
    if len(live) < width:
        return None
    live_sum, abandon_sum = sum(live[:width]), sum(abandons[:width])
    worst = abandon_sum / live_sum if live_sum else 0.0
    for i in range(width, len(live)):
        live_sum += live[i] - live[i - width]
        abandon_sum += abandons[i] - abandons[i - width]
        if live_sum:
            worst = max(worst, abandon_sum / live_sum)
    return worst
