"""What one simulated shift measured, and how seeds add up.

Abandons and live answers count from the first dial of the shift, as the law
counts them; occupancy, talk, connects and dials are measured after the
warm-up (the steady state the pacer reaches).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from olive.pacing import AgentActivity, AgentSnapshot

WORST_HOUR_NOT_BEFORE_S = 3600.0  # rolling hours are judged from the end of the shift's first hour
TO_DATE_AFTER_LIVE = 100  # the campaign-to-date rate is judged once this many live answers are in


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
    """Counts for one (cell, policy, seed).

    Occupancy and rates per agent-hour cover the measured period [start, end);
    live answers and abandons cover the whole shift [shift_start, end), warm-up
    included, by minute from the shift's start.
    """

    start: float
    end: float
    shift_start: float
    agent_s: float = 0.0  # logged-in agent time
    busy_s: float = 0.0  # talk + wrap-up time
    talk_s: float = 0.0
    dials: int = 0
    live_answers: int = 0
    abandons: int = 0
    connects: int = 0
    minute_live: list[int] = field(default_factory=list)
    minute_abandons: list[int] = field(default_factory=list)
    minute_dials: list[int] = field(default_factory=list)
    minute_agents: list[int] = field(default_factory=list)  # logged-in agents at the minute's end
    to_date_live: int = 0  # campaign to date, as events happen (an abandon when it happens)
    to_date_abandons: int = 0
    worst_to_date: float = 0.0  # the highest campaign-to-date rate once TO_DATE_AFTER_LIVE are in
    machines: int = 0  # AMD verdicts MACHINE (hung up, not live answers)
    machine_people: int = 0  # of which were people (AMD false positives; Ofcom: abandoned)
    amd_estimate: float = 0.0  # the people among them as the plan estimates (machines x person share)
    minute_amd: list[float] = field(default_factory=list)  # that estimate, by minute
    to_date_amd: float = 0.0
    messages: int = 0  # agentless: answers that heard the message (after the warm-up)
    message_s: float = 0.0  # agentless: the time they listened
    line_s: float = 0.0  # agentless: call-seconds of lines in use (dial to hang-up), after the warm-up
    _team: int = 0
    _team_since: float = 0.0

    def __post_init__(self) -> None:
        minutes = max(1, math.ceil((self.end - self.shift_start) / 60.0 - 1e-9))
        self.minute_live = [0] * minutes
        self.minute_abandons = [0] * minutes
        self.minute_dials = [0] * minutes
        self.minute_agents = [0] * minutes
        self.minute_amd = [0.0] * minutes

    def _minute(self, at: float) -> int:
        return min(len(self.minute_live) - 1, int((at - self.shift_start) / 60.0))

    def dial(self, at: float) -> None:
        if self.shift_start <= at < self.end:
            self.minute_dials[self._minute(at)] += 1
        if self.start <= at < self.end:
            self.dials += 1

    def live_answer(self, at: float) -> None:
        if self.shift_start <= at < self.end:
            self.live_answers += 1
            self.minute_live[self._minute(at)] += 1
            self.to_date_live += 1

    def abandon(self, answered_at: float) -> None:
        if self.shift_start <= answered_at < self.end:
            self.abandons += 1
            self.minute_abandons[self._minute(answered_at)] += 1
            self.to_date_abandons += 1
            self._judge_to_date()

    def machine(self, at: float, person_share: float, person: bool) -> None:
        """AMD took a call for a machine: ``person_share`` of a person abandoned, by estimate
        (both sides of the rate, as the compliance export counts it)."""
        if self.shift_start <= at < self.end:
            self.machines += 1
            self.machine_people += int(person)
            self.amd_estimate += person_share
            self.minute_amd[self._minute(at)] += person_share
            self.to_date_amd += person_share
            self._judge_to_date()

    def _judge_to_date(self) -> None:
        if self.to_date_live >= TO_DATE_AFTER_LIVE:
            rate = (self.to_date_abandons + self.to_date_amd) / (self.to_date_live + self.to_date_amd)
            self.worst_to_date = max(self.worst_to_date, rate)

    def message(self, at: float, listened_s: float) -> None:
        if self.start <= at < self.end:
            self.messages += 1
            self.message_s += listened_s

    def line(self, dialed_at: float, ended_at: float) -> None:
        """An agentless call ended: it held a line (ringing or playing) from its dial."""
        self.line_s += _overlap(dialed_at, ended_at, self.start, self.end)

    def connect(self, at: float) -> None:
        if self.start <= at < self.end:
            self.connects += 1

    def handled(self, busy_since: float, talk_s: float, free_at: float) -> None:
        self.busy_s += _overlap(busy_since, free_at, self.start, self.end)
        self.talk_s += _overlap(busy_since, busy_since + talk_s, self.start, self.end)

    def team(self, size: int, at: float) -> None:
        self.agent_s += self._team * _overlap(self._team_since, at, self.start, self.end)
        if self.shift_start <= at < self.end:
            first = self._minute(at)
            self.minute_agents[first:] = [size] * (len(self.minute_agents) - first)
        self._team, self._team_since = size, at

    def finish(self, agents: Iterable[_BusyAgent]) -> None:
        for agent in agents:
            if agent.view.activity in (AgentActivity.TALKING, AgentActivity.WRAPUP):
                free_at = agent.busy_since + agent.talk_s + agent.wrapup_s
                self.handled(agent.busy_since, agent.talk_s, free_at)
        self.team(self._team, self.end)

    def worst_hour(self) -> float | None:
        """The highest abandon rate over rolling 60-minute windows (1-minute steps).

        Windows start no earlier than one hour into the shift (the first hour
        has its own figure, :meth:`first_minutes`); None if no window fits.
        """
        first = round(WORST_HOUR_NOT_BEFORE_S / 60.0)
        live = [n + e for n, e in zip(self.minute_live, self.minute_amd, strict=True)]
        abandons = [n + e for n, e in zip(self.minute_abandons, self.minute_amd, strict=True)]
        return worst_rolling_rate(live[first:], abandons[first:], 60)

    def first_minutes(self, minutes: int) -> tuple[float, float]:
        """(live answers, abandons) in the shift's first ``minutes``, from the first dial, with
        AMD's estimated people among its machines on both sides."""
        amd = sum(self.minute_amd[:minutes])
        return sum(self.minute_live[:minutes]) + amd, sum(self.minute_abandons[:minutes]) + amd


def worst_rolling_rate(live: Sequence[float], abandons: Sequence[float], width: int) -> float | None:
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
