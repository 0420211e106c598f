"""A baseline: VICIdial's adaptive dial level, behind olive's Pacer interface.

Implemented from VICIdial's documented algorithm (AST_VDadapt.pl and
AST_VDauto_dial.pl, read for their behaviour; no code is shared):

- Every second it samples the campaign's ready agents, its waiting calls
  (answered, no agent yet) and its logged-in agents, and keeps 15 samples.
- Every 15 s: ``differential = mean(ready) - mean(waiting) + dl_diff_target``;
  ``percent = differential / mean(agents)``, scaled by ``(1 + intensity/100)``
  when positive and ``|intensity/100 - 1|`` when negative; the dial level is
  multiplied by ``1 + percent`` and clamped to ``[1.0, max_level]``.
- Drop brakes, with drop counts refreshed once a minute: more than 20 dials in
  the last minute with over half of them dropped halves the level; more than
  50 dials today with drops over ``drop_percentage`` of today's answers sets
  it to 1.0 (ADAPT_HARD_LIMIT), halves it (ADAPT_AVERAGE), or scales it by the
  part of the day left (ADAPT_TAPERED). "Today" starts at midnight UTC.
- Dialing: keep ``round(level x (ready + in-call agents))`` lines busy; lines in
  use are calls ringing, waiting and connected. Agents in wrap-up are paused
  in VICIdial's sense and count for neither.

It is given every decision the engine makes (not only VICIdial's 2.5 s loop),
which can only help it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from olive.pacing import (
    AgentActivity,
    CallAbandoned,
    DialDecision,
    DialPlaced,
    DialResolved,
    Observation,
    PacingSnapshot,
)

_DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class AdaptiveSettings:
    max_level: float = 3.0  # adaptive_maximum_level
    intensity: float = 0.0  # adaptive_intensity, -40 .. 40
    dl_diff_target: float = 0.0  # adaptive_dl_diff_target
    drop_percentage: float = 3.0  # adaptive_dropped_percentage
    method: str = "ADAPT_HARD_LIMIT"  # or ADAPT_AVERAGE, ADAPT_TAPERED
    latest_server_time: int = 2100  # adaptive_latest_server_time (HHMM), for ADAPT_TAPERED


class AdaptiveDialLevelPacer:
    mode = "vicidial-adaptive"

    def __init__(self, settings: AdaptiveSettings | None = None) -> None:
        self.settings = settings or AdaptiveSettings()
        self.level = 1.0
        self._samples: deque[tuple[int, int, int]] = deque(maxlen=15)
        self._next_sample: float | None = None
        self._next_adapt = 0.0
        self._next_drop_stats = 0.0
        self._day = -1
        self._dials_today = self._answers_today = self._drops_today = 0
        self._recent_dials: deque[float] = deque()
        self._recent_drops: deque[float] = deque()
        # Drop figures as of the last once-a-minute refresh.
        self._stats = (0, 0.0, 0, 0.0)  # dials last minute, drop % last minute, dials today, drop % of answers

    def observe(self, observation: Observation) -> None:
        if isinstance(observation, DialPlaced):
            self._roll_day(observation.at)
            self._dials_today += 1
            self._recent_dials.append(observation.at)
        elif isinstance(observation, DialResolved) and observation.live:
            self._roll_day(observation.at)
            self._answers_today += 1
        elif isinstance(observation, CallAbandoned):
            self._roll_day(observation.at)
            self._drops_today += 1
            self._recent_drops.append(observation.at)

    def _roll_day(self, now: float) -> None:
        day = math.floor(now / _DAY_S)
        if day != self._day:
            self._day = day
            self._dials_today = self._answers_today = self._drops_today = 0

    def decide(self, snapshot: PacingSnapshot) -> DialDecision:
        now = snapshot.now
        self._roll_day(now)
        ready = snapshot.count(AgentActivity.IDLE)
        in_call = snapshot.count(AgentActivity.TALKING) + snapshot.count(AgentActivity.RINGING)
        if self._next_sample is None:
            self._next_sample = now
            self._next_adapt = self._next_drop_stats = now + 15.0
        while self._next_sample <= now:
            self._samples.append((ready, snapshot.waiting, len(snapshot.agents)))
            self._next_sample += 1.0
        if now >= self._next_drop_stats:
            self._refresh_drop_stats(now)
            self._next_drop_stats = now + 60.0
        if now >= self._next_adapt:
            self._adapt(now)
            self._next_adapt = now + 15.0
        goal = round(self.level * (ready + in_call))
        in_use = len(snapshot.dialing) + snapshot.waiting + snapshot.talking_calls
        dials = max(0, goal - in_use)
        return DialDecision(dials, f"dial level {self.level:.3f}: {goal} lines wanted, {in_use} in use")

    def _refresh_drop_stats(self, now: float) -> None:
        for times in (self._recent_dials, self._recent_drops):
            while times and times[0] <= now - 60.0:
                times.popleft()
        dials_minute = len(self._recent_dials)
        drop_pct_minute = 100.0 * len(self._recent_drops) / dials_minute if dials_minute else 0.0
        answers = self._answers_today
        drop_pct_today = 100.0 * self._drops_today / answers if answers else 0.0
        self._stats = (dials_minute, drop_pct_minute, self._dials_today, drop_pct_today)

    def _adapt(self, now: float) -> None:
        s = self.settings
        if not self._samples:
            return
        count = len(self._samples)
        ready = sum(x[0] for x in self._samples) / count
        waiting = sum(x[1] for x in self._samples) / count
        agents = sum(x[2] for x in self._samples) / count
        differential = ready - waiting + s.dl_diff_target
        multiplier = differential / agents if differential and agents else 0.0
        factor = s.intensity / 100.0
        change = multiplier * (abs(factor - 1.0) if multiplier < 0 else factor + 1.0)
        level = min(s.max_level, max(1.0, round(self.level * (1.0 + change), 3)))
        dials_minute, drop_pct_minute, dials_today, drop_pct_today = self._stats
        if dials_minute > 20 and drop_pct_minute > 50.0:
            level /= 2.0
        if dials_today > 50 and drop_pct_today > s.drop_percentage:
            if s.method == "ADAPT_HARD_LIMIT":
                level = 1.0
            elif s.method == "ADAPT_AVERAGE":
                level /= 2.0
            elif s.method == "ADAPT_TAPERED":
                seconds = now % _DAY_S
                hourmin = int(seconds // 3600) * 100 + int(seconds % 3600 // 60)
                hours_left = s.latest_server_time - hourmin
                level = 1.0 if hours_left < 0 else level * min(1.0, hours_left / 1000.0)
        self.level = max(1.0, level)

    def estimates(self) -> Mapping[str, float]:
        return {"dial_level": self.level}
