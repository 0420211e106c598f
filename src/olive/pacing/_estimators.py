"""What the predictive pacer learns online: answers, their timing, and handle times.

Nothing here is told the campaign's true parameters, and nothing is biased by
calls still in flight:

- :class:`AnswerModel` learns from dials **in the order they were placed**,
  and only from dials whose whole cohort has resolved: a dial's outcome is
  held back until every dial placed before it has stopped ringing (the
  oldest call still ringing says how far that is). Counting results in the
  order they arrive would see fast failures (4 s) first, live answers next
  and ring-outs last, and the answer rate would swing with every burst of
  dials; the answer and non-answer times would be the short ones.
- :class:`HandleModel` estimates the talk-time distribution by Kaplan-Meier:
  calls still being talked are right-censored observations (they have lasted
  at least this long), so the first calls to end, the short ones, do not
  pass for the distribution.

:class:`AnswerModel` learns the live-answer rate from a slow and a fast
exponentially weighted estimate: the slow one is used, unless the two disagree by more than two
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

import heapq
import math
from bisect import bisect_right
from collections import deque
from collections.abc import Sequence

from olive.pacing._survival import Survival, kaplan_meier

Row = tuple[tuple[float, ...], tuple[float, ...]]  # (probabilities, their Bernoulli variances)

_TALK_BIN_S = 2.0
_TAIL_MIN_SAMPLES = 25  # beyond the elapsed time with fewer samples left, use a memoryless tail
_WRAP_POINTS = 5
# Without a snapshot (only observations), a dial is taken as resolved when this long has
# passed (or longer, once slower resolutions are seen); with one, the oldest ringing call decides.
_HOLD_S = 60.0
_STUCK_S = 600.0  # a call "ringing" longer than this is lost, not ringing: stop waiting for it
_CENSORED_REBUILD_S = 10.0  # rebuild the talk table this often while calls in progress weigh in
# The rise watch: the dials placed in the last few seconds, resolved or still ringing, are
# tested against the long-run rate; windows and the one-sided z of the test.
_RISE_WINDOWS_S = (10.0, 15.0, 20.0, 30.0)
_RISE_Z = 3.0
_RISE_SCORE_Z = 2.5  # the score test (observed information at the long-run rate, conservative)
_RISE_EVERY_S = 0.5  # the watch is recomputed at most this often
_RISE_HOLD_MAX_S = 600.0  # a detected rise is tested on the dials since it began, up to this far back
_RISE_HOLD_WINDOWS_S = (60.0, 120.0, 240.0, 480.0)  # ... and on these windows, while shorter


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
        self._held: list[tuple[float, int, float, bool]] = []  # (dialed at, seq, duration, live)
        self._seq = 0
        self._latest = -math.inf
        self._longest = 0.0
        self._recent: deque[tuple[float, bool]] = deque()  # (dialed at, live), by arrival
        self._rise: tuple[float, float] | None = None  # (rate, variance) of a detected rise
        self._rise_since: float | None = None  # when the dials of the detected rise began
        self._rise_base = 0.0  # the long-run rate when the rise was detected
        self._watched_at = -math.inf
        self.rises = 0  # decisions made on a detected rise
        self._sorted: tuple[int, list[float], list[float]] | None = None  # timing samples, sorted

    def observe(self, dialed_at: float, at: float, live: bool) -> None:
        """A dial resolved; it is learned from once every dial placed before it has too."""
        duration = max(0.0, at - dialed_at)
        self._seq += 1
        # Dials placed at the same instant (one decision's batch) come back fast failures
        # first, live answers next, ring-outs last; learning them in that order would swing
        # the fast estimate. A scramble of the arrival order (golden-ratio hashing, so the
        # early and late arrivals interleave evenly) breaks the ties instead.
        scrambled = (self._seq * 2654435761) % 4294967296
        heapq.heappush(self._held, (dialed_at, scrambled, duration, live))
        self._longest = max(self._longest, duration)
        recent = self._recent
        recent.append((dialed_at, live))
        horizon = at - 2.0 * _RISE_WINDOWS_S[-1] - self._longest
        if self._rise_since is not None:  # keep every dial of a rise still being followed
            horizon = min(horizon, self._rise_since)
        while recent and recent[0][0] < horizon:
            recent.popleft()
        self.advance(at)

    def advance(self, now: float) -> None:
        """Time passed: learn from dials old enough to be resolved, whatever the ringing calls."""
        self._latest = max(self._latest, now)
        self._release(self._latest - max(_HOLD_S, self._longest + 1.0))

    def settle(self, now: float, oldest_ringing: float | None) -> None:
        """Learn from every dial placed before the oldest call still ringing (all of them, if none)."""
        self._latest = max(self._latest, now)
        cutoff = now if oldest_ringing is None else max(oldest_ringing, now - _STUCK_S)
        self._release(cutoff)

    @property
    def held(self) -> int:
        """Resolved dials not yet learned from: an older call is still ringing."""
        return len(self._held)

    def _release(self, cutoff: float) -> None:
        held = self._held
        while held and held[0][0] < cutoff:
            _, _, duration, live = heapq.heappop(held)
            self._learn(duration, live)

    def _learn(self, duration: float, live: bool) -> None:
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

    @property
    def cautious_rate(self) -> float:
        """The rate the forecast uses: the long-run one, or the recent dials' on a detected rise."""
        return self._rise[0] if self._rise is not None else self.rate

    @property
    def cautious_variance(self) -> float:
        return self._rise[1] if self._rise is not None else self.rate_variance

    @property
    def recent_rise(self) -> float | None:
        """The recent dials' rate while a rise over the long-run rate is detected, else None."""
        return None if self._rise is None else self._rise[0]

    def watch(self, now: float, dialing: Sequence[float]) -> None:
        """Test the dials placed in the last few seconds for a rise in the answer rate.

        The long-run rate learns a dial only once its whole cohort has resolved,
        about one ring timeout late, and a sudden rise is the dangerous
        direction: every call placed on the old rate answers more often than
        planned. So the dials placed in each of the last ``_RISE_WINDOWS_S``
        seconds are fitted on their own by maximum likelihood, with the calls
        still ringing as censored observations (a call that has rung ``e``
        seconds is a live answer to come with probability ``p(1 - F(e)) /
        (p(1 - F(e)) + (1 - p)(1 - G(e)))``, ``F`` and ``G`` the learned answer
        and non-answer time distributions), so fast failures coming back first
        bias nothing. If the estimate less ``_RISE_Z`` standard errors (from the
        observed information) is above the long-run rate in any window, the
        rise is taken as real and the forecast uses that window's estimate and
        variance (a higher rate means fewer calls placed: the cautious side).
        The fit is made only where the score test at the long-run rate (the
        log-likelihood's slope there over its standard deviation, from the
        observed information, which is conservative under a rise) passes
        ``_RISE_SCORE_Z`` (2.5), which is cheap and skips the fit in nearly
        every decision. Seen from a steady campaign, the two tests in four
        nested windows fire together on under 1 % of the seconds (0 to 0.3 %
        measured at answer rates of 0.05, 0.1 and 0.3;
        tests/pacing/test_censoring.py checks 1 %).

        A rise once detected is also tested on every dial placed since it
        began (up to ``_RISE_HOLD_MAX_S`` back) and on the last 1, 2, 4 and 8
        minutes' dials (the start of a rise is known only to a window's width),
        not only on the last 30 s:
        while the pacer holds back, it places few calls, and the short windows
        alone would soon hold too few to pass the tests, dropping the rise for
        want of evidence while the long-run rate still lags far behind it (the
        pacer then placed "near-riskless" calls at the old rate and they were
        abandoned). The rise ends when the dials since it began no longer put
        the rate above the long-run rate as it was when the rise was detected
        (the long-run rate since has learned some of the new dials and would
        mask the rise), or once the long-run rate has caught up with the rise:
        a false alarm ends as soon as its dials resolve as usual.
        """
        if now - self._watched_at < _RISE_EVERY_S:
            return
        self._watched_at = now
        self._rise = None
        if not self._answer_delays or not self._non_answer_times:
            self._rise_since = None
            return
        windows: tuple[float, ...] = _RISE_WINDOWS_S
        holding = self._rise_since is not None
        null = base = self.rate
        if self._rise_since is not None:
            null = self._rise_base  # the long-run rate has since learned some of the new dials
            since = min(now - self._rise_since, _RISE_HOLD_MAX_S)
            if since > _RISE_WINDOWS_S[-1]:
                windows = (*_RISE_WINDOWS_S, *(w for w in _RISE_HOLD_WINDOWS_S if w < since), since)
        longest_window = windows[-1]
        width = int(longest_window) + 1
        live = [0] * width
        failed = [0] * width
        ringing = [0] * width
        for dialed_at, was_live in self._recent:
            age = now - dialed_at
            if 0.0 <= age < longest_window:
                (live if was_live else failed)[int(age)] += 1
        for dialed_at in dialing:
            age = now - dialed_at
            if 0.0 <= age < longest_window:
                ringing[int(age)] += 1
        if self._sorted is None or self.resolved - self._sorted[0] >= 25:  # timing drifts slowly
            self._sorted = (self.resolved, sorted(self._answer_delays), sorted(self._non_answer_times))
        _, delays, non_answers = self._sorted
        n_delays, n_non = len(delays), len(non_answers)
        still: list[tuple[int, float, float]] = []  # (ringing calls, 1 - F(e), 1 - G(e)) by age
        for age, count in enumerate(ringing):
            if count:
                e = age + 0.5
                a = 1.0 - bisect_right(delays, e) / n_delays
                b = 1.0 - bisect_right(non_answers, e) / n_non
                if a + b > 1e-9:
                    still.append((age, a, b))
        best: tuple[float, float, float, float] | None = None  # (lower bound, rate, variance, window)
        for window in windows:
            ages = int(window)
            n_live, n_failed = sum(live[:ages]), sum(failed[:ages])
            if n_live == 0:
                continue
            rows = [(ringing[age], a, b) for age, a, b in still if age < ages]
            score, information = _score(null, n_live, n_failed, rows)
            if score <= _RISE_SCORE_Z * math.sqrt(information):  # the score test at the long-run rate
                continue
            rate, information = _censored_rate(n_live, n_failed, rows)
            lower = rate - _RISE_Z / math.sqrt(information)
            if holding and rate <= base:  # the long-run rate has caught up with the rise
                continue
            if best is None or lower > best[0]:
                best = (lower, rate, 1.0 / information, window)
        if best is None:
            self._rise_since = None
            return
        self._rise = (best[1], best[2])
        self.rises += 1
        if self._rise_since is None:
            self._rise_since, self._rise_base = now - best[3], base

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
        rate = self.cautious_rate
        if tables is not None and self._changes < 25 and abs(tables[1] - rate) < 0.01 * tables[1]:
            return tables
        self._changes = 0
        delays = sorted(self._answer_delays) or [0.0]
        non_answers = sorted(self._non_answer_times) or [0.0]
        horizons = (*_quantiles(delays, points), delays[-1])
        p = rate
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


def _score(
    p: float, n_live: int, n_failed: int, ringing: Sequence[tuple[int, float, float]]
) -> tuple[float, float]:
    """The score (derivative of the log-likelihood) at ``p`` and the observed information."""
    score = n_live / p - n_failed / (1.0 - p)
    information = n_live / p**2 + n_failed / (1.0 - p) ** 2
    for count, a, b in ringing:
        slope = (a - b) / (p * a + (1.0 - p) * b)
        score += count * slope
        information += count * slope * slope
    return score, information


def _censored_rate(
    n_live: int, n_failed: int, ringing: Sequence[tuple[int, float, float]]
) -> tuple[float, float]:
    """Maximum-likelihood live-answer rate of dials resolved (live or not) or still ringing.

    ``ringing``: (calls, 1 - F(e), 1 - G(e)) per age. The log-likelihood is
    concave in the rate, so its score is decreasing: bisection finds the root.
    Returns the rate and the observed information at it.
    """
    lo, hi = 1e-4, 1.0 - 1e-4
    if _score(hi, n_live, n_failed, ringing)[0] > 0.0:
        lo = hi
    for _ in range(30):
        if hi - lo < 1e-4:
            break
        mid = 0.5 * (lo + hi)
        if _score(mid, n_live, n_failed, ringing)[0] > 0.0:
            lo = mid
        else:
            hi = mid
    p = 0.5 * (lo + hi)
    return p, _score(p, n_live, n_failed, ringing)[1]


class HandleModel:
    """Talk time (Kaplan-Meier, calls in progress censored) and wrap-up time of recent calls.

    The talk sample is a cohort: every call whose talk began after a cut-off,
    ended (an event) or still in progress (censored). Until a call is dropped
    from memory the cut-off is the start of the campaign; after, it is when
    the last call dropped ended, since every call begun after that has either
    ended since (and is kept) or is still in progress.
    """

    def __init__(self, samples: int = 1000) -> None:
        self._samples = samples
        self._talk: deque[tuple[float, float, float]] = deque(maxlen=samples)  # (start, talk, end)
        self._wrapup: deque[float] = deque(maxlen=samples)
        self.handled = 0
        self._changes = 0
        self._key: tuple[float, ...] = ()
        self._talk_rows: list[Row] = []
        self._wrapup_rows: list[Row] = []
        self._built_at = -math.inf
        self._censoring_matters = False
        self.survival: Survival | None = None
        self._cutoff = -math.inf  # calls begun before this may have been forgotten

    def observe(self, talk_s: float, wrapup_s: float, ended_at: float | None = None) -> None:
        """A call's wrap-up ended at ``ended_at`` (None: unknown, then it has no place in time)."""
        talk_s, wrapup_s = max(0.0, talk_s), max(0.0, wrapup_s)
        end = -math.inf if ended_at is None else ended_at
        if len(self._talk) == self._talk.maxlen:
            self._cutoff = max(self._cutoff, self._talk[0][2])
        self._talk.append((end - wrapup_s - talk_s, talk_s, end))
        self._wrapup.append(wrapup_s)
        self.handled += 1
        self._changes += 1

    def mean_talk(self) -> float:
        """The mean talk time, calls in progress accounted for once a table has been built with them."""
        if self.survival is not None:
            return self.survival.mean
        return math.fsum(t for _, t, _ in self._talk) / len(self._talk) if self._talk else 0.0

    def mean_wrapup(self) -> float:
        return math.fsum(self._wrapup) / len(self._wrapup) if self._wrapup else 0.0

    def _cohort(self, now: float, talking_since: Sequence[float]) -> tuple[list[float], list[float]]:
        """Ended talk times and elapsed times of talks in progress, of calls begun after the cut-off."""
        talk = self._talk
        if len(talking_since) * 8 > (talk.maxlen or 0):  # a big team: keep enough calls to see long ones
            self._talk = talk = deque(talk, maxlen=max(self._samples, 8 * len(talking_since)))
        cutoff = self._cutoff
        if cutoff == -math.inf or not talking_since:
            return [t for _, t, _ in talk], [now - since for since in talking_since]
        return (
            [t for start, t, _ in talk if start >= cutoff],
            [now - since for since in talking_since if since >= cutoff],
        )

    def tables(
        self, horizons: tuple[float, ...], now: float = 0.0, talking_since: Sequence[float] = ()
    ) -> tuple[list[Row], float, list[Row]]:
        """Rows of P(agent free within each horizon), by elapsed talk and by elapsed wrap-up.

        ``talk_rows[i]`` is for an agent talking for ``2 i`` to ``2 i + 2``
        seconds (the last row serves every longer call); ``wrapup_rows[i]`` for
        one in wrap-up for ``i`` to ``i + 1`` seconds. ``talking_since``: when
        each call now in progress began (censored observations at ``now``).
        """
        stale = any(abs(a - b) > 0.25 for a, b in zip(horizons, self._key, strict=False))
        aged = self._censoring_matters and now - self._built_at >= _CENSORED_REBUILD_S
        if self._talk_rows and self._changes < 25 and len(horizons) == len(self._key) and not (stale or aged):
            return self._talk_rows, _TALK_BIN_S, self._wrapup_rows
        self._changes = 0
        self._key = horizons
        self._built_at = now
        ended, in_progress = self._cohort(now, talking_since)
        # Calls in progress change the estimate while they are many against the calls ended.
        self._censoring_matters = len(in_progress) * 2 > len(ended)
        self.survival = survival = kaplan_meier(ended or [0.0], in_progress)
        wrapups = sorted(self._wrapup) or [0.0]
        wrap_points = (wrapups[0],) if wrapups[0] == wrapups[-1] else _quantiles(wrapups, _WRAP_POINTS)
        self._talk_rows = self._talk_table(survival, wrap_points, horizons)
        self._wrapup_rows = self._wrapup_table(wrapups, horizons)
        return self._talk_rows, _TALK_BIN_S, self._wrapup_rows

    @staticmethod
    def _talk_table(survival: Survival, wrap_points: tuple[float, ...], horizons: tuple[float, ...]) -> list[Row]:
        rows: list[Row] = []
        b = 0
        while True:
            e = (b + 0.5) * _TALK_BIN_S
            if e >= survival.tail_start or b > 10_000:  # memoryless from here: one row for all longer calls
                rate = survival.hazard
                rows.append(
                    _row(
                        [
                            math.fsum(1.0 - math.exp(-rate * max(0.0, h - w)) for w in wrap_points)
                            / len(wrap_points)
                            for h in horizons
                        ]
                    )
                )
                return rows
            lasted = survival(e)
            rows.append(
                _row(
                    [
                        math.fsum(1.0 - survival(e + h - w) / lasted if h > w else 0.0 for w in wrap_points)
                        / len(wrap_points)
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
