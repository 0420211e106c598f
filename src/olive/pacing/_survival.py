"""Kaplan-Meier survival with right-censored observations and a memoryless tail.

Used for talk times: a call that has ended is an event at its duration; a
call still being talked is censored at its elapsed time (it lasts at least
that long). Counting only ended calls would see the short calls first and
under-estimate talk time, badly so at the start of a shift or after a mass
login, when most calls are still in progress.

Past the point where fewer than ``tail_at_risk`` observations remain, the
step function is too noisy to use; the survival continues as an exponential
whose hazard is the events over the exposure (time lived) beyond that point,
the maximum-likelihood estimate under censoring. While the tail holds few
events that estimate is rough, so the lower of it and the hazard over all
the data is used: a lower hazard means longer calls, agents free later,
fewer calls placed, the safe side.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Survival:
    """``S(t)``: the probability that a duration exceeds ``t``."""

    times: tuple[float, ...]  # event times, increasing, up to the tail
    values: tuple[float, ...]  # S just after each of them
    tail_start: float  # from here S decays at ``hazard`` per second
    tail_value: float  # S(tail_start)
    hazard: float
    events: int
    censored: int

    def __call__(self, t: float) -> float:
        if t >= self.tail_start:
            return self.tail_value * math.exp(-self.hazard * (t - self.tail_start))
        i = bisect_right(self.times, t)
        return self.values[i - 1] if i else 1.0

    @property
    def mean(self) -> float:
        """Area under S: the mean duration, censoring accounted for."""
        area, previous_t, previous_s = 0.0, 0.0, 1.0
        for t, s in zip(self.times, self.values, strict=True):
            area += previous_s * (t - previous_t)
            previous_t, previous_s = t, s
        area += previous_s * (self.tail_start - previous_t)
        return area + self.tail_value / self.hazard


def kaplan_meier(events: Sequence[float], censored: Sequence[float], tail_at_risk: int = 25) -> Survival:
    """The survival of ``events`` (observed durations) with ``censored`` (lower bounds)."""
    observations = sorted([(t, 0) for t in events] + [(t, 1) for t in censored])  # events first on ties
    n = len(observations)
    if not events:  # nothing has ended yet: no estimate but a slow exponential over what has lasted
        exposure = math.fsum(censored)
        return Survival((), (), 0.0, 1.0, 1.0 / max(exposure, 1.0), 0, len(censored))
    total_exposure = math.fsum(t for t, _ in observations)
    hazard_all = len(events) / max(total_exposure, 1e-9)
    # Where the step function ends: the time beyond which fewer than tail_at_risk remain.
    cut = max(0, n - tail_at_risk)
    tail_start = observations[cut][0] if cut < n else observations[-1][0]
    times: list[float] = []
    values: list[float] = []
    at_risk, s, i = n, 1.0, 0
    while i < n and observations[i][0] < tail_start:
        t = observations[i][0]
        deaths = gone = 0
        while i < n and observations[i][0] == t:
            deaths += 1 - observations[i][1]
            gone += 1
            i += 1
        if deaths:
            s *= 1.0 - deaths / at_risk
            times.append(t)
            values.append(s)
        at_risk -= gone
    beyond = observations[i:]
    tail_events = sum(1 - c for _, c in beyond)
    tail_exposure = math.fsum(t - tail_start for t, _ in beyond)
    hazard_tail = max(tail_events, 0.5) / max(tail_exposure, 1.0)
    hazard = max(1e-6, min(hazard_tail, hazard_all))
    return Survival(tuple(times), tuple(values), tail_start, s, hazard, len(events), len(censored))
