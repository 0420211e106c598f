"""What the predictive pacer learns online: answers, their timing, and handle times.

Nothing here is told the campaign's true parameters. :class:`AnswerModel`
learns the live-answer rate from a slow and a fast exponentially weighted
estimate: the slow one is used, unless the two disagree by more than two
standard deviations, when the fast one is (with its larger variance, which
makes the forecast more careful), and past 3.5 the slow one jumps to the
fast one. A real change is followed within a couple of hundred dials. It
also learns the empirical distributions of the time to a live answer and the time to
a non-answer. :class:`HandleModel` learns the empirical distributions of talk
time and wrap-up time from the last calls handled.

Both turn what they learned into lookup tables for a fixed set of horizons,
rebuilt only when enough new data has arrived, so a pacing decision costs a
table lookup per agent and per ringing call.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Sequence

Row = tuple[tuple[float, ...], tuple[float, ...]]  # (probabilities, their Bernoulli variances)

_TALK_BIN_S = 2.0
_TAIL_MIN_SAMPLES = 25  # beyond the elapsed time with fewer samples left, use a memoryless tail
_WRAP_POINTS = 5


def _row(probabilities: Sequence[float]) -> Row:
    ps = tuple(min(1.0, max(0.0, p)) for p in probabilities)
    return ps, tuple(p * (1.0 - p) for p in ps)


def _quantiles(sorted_values: Sequence[float], count: int) -> tuple[float, ...]:
    """The (k + 1/2)/count quantiles of ``sorted_values``: equal-weight quadrature points."""
    n = len(sorted_values)
    return tuple(sorted_values[min(n - 1, int((k + 0.5) / count * n))] for k in range(count))


class _EwFraction:
    """An exponentially weighted fraction with an effective memory of ``memory`` trials."""

    __slots__ = ("_decay", "hits", "weight")

    def __init__(self, memory: int) -> None:
        self._decay = 1.0 - 1.0 / memory
        self.weight = 0.0
        self.hits = 0.0

    def add(self, hit: bool) -> None:
        self.weight = self.weight * self._decay + 1.0
        self.hits = self.hits * self._decay + (1.0 if hit else 0.0)

    @property
    def value(self) -> float:
        return (self.hits + 0.5) / (self.weight + 1.0)

    @property
    def variance(self) -> float:
        p = self.value
        return p * (1.0 - p) / (self.weight + 1.0)


class AnswerModel:
    """Live-answer rate, time to a live answer, time to a non-answer."""

    def __init__(self, memory: int = 2000, fast_memory: int = 200, samples: int = 600) -> None:
        self._slow = _EwFraction(memory)
        self._fast = _EwFraction(fast_memory)
        self._answer_delays: deque[float] = deque(maxlen=samples)
        self._non_answer_times: deque[float] = deque(maxlen=samples)
        self.resolved = 0
        self.live_answers = 0
        self.shifts = 0  # how many times a change in the answer rate was detected
        self._changes = 0  # observations since the tables were built
        self._tables: tuple[tuple[float, ...], float, list[Row], Row] | None = None

    def observe(self, dialed_at: float, at: float, live: bool) -> None:
        duration = max(0.0, at - dialed_at)
        self.resolved += 1
        self._slow.add(live)
        self._fast.add(live)
        if live:
            self.live_answers += 1
            self._answer_delays.append(duration)
        else:
            self._non_answer_times.append(duration)
        gap = abs(self._fast.value - self._slow.value)
        if gap > 3.5 * math.sqrt(self._fast.variance + self._slow.variance) and self._fast.weight > 30:
            self._slow.weight, self._slow.hits = self._fast.weight, self._fast.hits
            self.shifts += 1
            self._tables = None
        self._changes += 1

    def _current(self) -> _EwFraction:
        """The slow estimate, unless the fast one disagrees by more than chance allows."""
        fast, slow = self._fast, self._slow
        if abs(fast.value - slow.value) > 2.0 * math.sqrt(fast.variance + slow.variance):
            return fast
        return slow

    @property
    def rate(self) -> float:
        return self._current().value

    @property
    def rate_variance(self) -> float:
        return self._current().variance

    def mean_answer_delay(self) -> float:
        return math.fsum(self._answer_delays) / len(self._answer_delays) if self._answer_delays else 0.0

    def mean_non_answer_time(self) -> float:
        times = self._non_answer_times
        return math.fsum(times) / len(times) if times else 0.0

    def tables(self, points: int) -> tuple[tuple[float, ...], float, list[Row], Row]:
        """Forecast times, the rate, and the ringing-call table.

        The times are ``points`` answer-time quadrature points (the
        ``(k + 1/2) / points`` quantiles) and then the longest answer time seen.
        ``ringing[b]`` holds, for a call still ringing after ``b`` to ``b + 1``
        seconds, the probability that it becomes a live answer within each of
        those times from now (and its variance).
        """
        tables = self._tables
        if tables is not None and self._changes < 25 and abs(tables[1] - self.rate) < 0.01 * tables[1]:
            return tables
        self._changes = 0
        delays = sorted(self._answer_delays) or [0.0]
        non_answers = sorted(self._non_answer_times) or [0.0]
        horizons = (*_quantiles(delays, points), delays[-1])
        p = self.rate
        n_delays, n_non = len(delays), len(non_answers)
        last = math.ceil(max(delays[-1], non_answers[-1])) + 1
        ringing: list[Row] = []
        for b in range(last):
            e = b + 0.5
            answered_by_e = bisect_right(delays, e)
            still_ringing = p * (n_delays - answered_by_e) / n_delays + (1.0 - p) * (
                n_non - bisect_right(non_answers, e)
            ) / n_non
            if still_ringing <= 0.0:  # rung past every time seen: one entry per forecast time
                ringing.append(_row([0.0] * len(horizons)))
                continue
            ringing.append(
                _row(
                    [
                        p * (bisect_right(delays, e + h) - answered_by_e) / n_delays / still_ringing
                        for h in horizons
                    ]
                )
            )
        zero = _row([0.0] * len(horizons))
        self._tables = (horizons, p, ringing, zero)
        return self._tables


class HandleModel:
    """Talk time and wrap-up time of the last calls handled."""

    def __init__(self, samples: int = 1000) -> None:
        self._talk: deque[float] = deque(maxlen=samples)
        self._wrapup: deque[float] = deque(maxlen=samples)
        self.handled = 0
        self._changes = 0
        self._key: tuple[float, ...] = ()
        self._talk_rows: list[Row] = []
        self._wrapup_rows: list[Row] = []

    def observe(self, talk_s: float, wrapup_s: float) -> None:
        self._talk.append(max(0.0, talk_s))
        self._wrapup.append(max(0.0, wrapup_s))
        self.handled += 1
        self._changes += 1

    def mean_talk(self) -> float:
        return math.fsum(self._talk) / len(self._talk) if self._talk else 0.0

    def mean_wrapup(self) -> float:
        return math.fsum(self._wrapup) / len(self._wrapup) if self._wrapup else 0.0

    def tables(self, horizons: tuple[float, ...]) -> tuple[list[Row], float, list[Row]]:
        """Rows of P(agent free within each horizon), by elapsed talk and by elapsed wrap-up.

        ``talk_rows[i]`` is for an agent talking for ``2 i`` to ``2 i + 2``
        seconds (the last row serves every longer call); ``wrapup_rows[i]`` for
        one in wrap-up for ``i`` to ``i + 1`` seconds.
        """
        stale = any(abs(a - b) > 0.25 for a, b in zip(horizons, self._key, strict=False))
        if self._talk_rows and self._changes < 25 and len(horizons) == len(self._key) and not stale:
            return self._talk_rows, _TALK_BIN_S, self._wrapup_rows
        self._changes = 0
        self._key = horizons
        talk = sorted(self._talk) or [0.0]
        wrapups = sorted(self._wrapup) or [0.0]
        wrap_points = (wrapups[0],) if wrapups[0] == wrapups[-1] else _quantiles(wrapups, _WRAP_POINTS)
        self._talk_rows = self._talk_table(talk, wrap_points, horizons)
        self._wrapup_rows = self._wrapup_table(wrapups, horizons)
        return self._talk_rows, _TALK_BIN_S, self._wrapup_rows

    @staticmethod
    def _talk_table(
        talk: list[float], wrap_points: tuple[float, ...], horizons: tuple[float, ...]
    ) -> list[Row]:
        n = len(talk)
        rows: list[Row] = []
        b = 0
        while True:
            e = (b + 0.5) * _TALK_BIN_S
            done = bisect_right(talk, e)
            left = n - done
            if left < _TAIL_MIN_SAMPLES or b > 10_000:
                # Memoryless tail: the mean residual talk time of the longest calls.
                tail = [t - e for t in talk[done:]] or [max(1.0, talk[-1] - talk[n // 2])]
                residual = max(1.0, math.fsum(tail) / len(tail))
                rows.append(
                    _row(
                        [
                            math.fsum(1.0 - math.exp(-max(0.0, h - w) / residual) for w in wrap_points)
                            / len(wrap_points)
                            for h in horizons
                        ]
                    )
                )
                return rows
            rows.append(
                _row(
                    [
                        math.fsum(max(0, bisect_right(talk, e + h - w) - done) for w in wrap_points)
                        / (left * len(wrap_points))
                        for h in horizons
                    ]
                )
            )
            b += 1

    @staticmethod
    def _wrapup_table(wrapups: list[float], horizons: tuple[float, ...]) -> list[Row]:
        n = len(wrapups)
        rows: list[Row] = []
        for b in range(math.ceil(wrapups[-1]) + 1):
            e = b + 0.5
            done = bisect_right(wrapups, e)
            left = n - done
            if left == 0:
                rows.append(_row([1.0] * len(horizons)))
                continue
            rows.append(_row([(bisect_right(wrapups, e + h) - done) / left for h in horizons]))
        rows.append(_row([1.0] * len(horizons)))
        return rows
