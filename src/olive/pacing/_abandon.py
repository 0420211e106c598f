"""Abandon accounting: abandoned calls per live answer, to date and in rolling windows.

The abandon rate is ``abandoned / live answers`` (a live answer is a dial a
person picked up; it is abandoned when no agent takes it within the connect
limit). The ledger keeps it for the whole campaign and for rolling windows
(30 days for ``us-tsr``, 24 hours for ``uk-ofcom``, one hour for the
dashboard). Rolling windows are kept in 1,440 buckets each, so a window of
``w`` seconds covers the last ``w`` seconds to within ``w / 1440`` and
memory stays bounded however busy the campaign is.

Pure: every method takes the time it is about. After a restart the engine
rebuilds the ledger by replaying each stored live answer, oldest first, with
:meth:`AbandonLedger.restore` (or, through a pacer, with
:class:`~olive.pacing.RestoredLiveAnswer` observations).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

BUCKETS_PER_WINDOW = 1440


@dataclass(frozen=True, slots=True)
class AbandonRecord:
    """One stored live answer: when it was answered and whether it was abandoned."""

    at: float
    abandoned: bool


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Counts over one window; ``window_s`` is None for the campaign to date."""

    window_s: float | None
    live_answers: float  # whole calls, plus AMD's estimated people among its machines
    abandons: float

    @property
    def rate(self) -> float:
        return self.abandons / self.live_answers if self.live_answers else 0.0

    def budget(self, target: float) -> float:
        """Abandons still allowed before the rate would exceed ``target``."""
        return target * self.live_answers - self.abandons


class _RollingCounts:
    """Live answers and abandons over the last ``window_s`` seconds, in buckets."""

    __slots__ = ("_buckets", "_n", "abandons", "bucket_s", "live_answers", "window_s")

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.bucket_s = window_s / BUCKETS_PER_WINDOW
        self._n = BUCKETS_PER_WINDOW
        self._buckets: deque[list[float]] = deque()  # [bucket index, live answers, abandons]
        self.live_answers = 0.0
        self.abandons = 0.0

    def add(self, at: float, live_answers: float, abandons: float) -> None:
        index = math.floor(at / self.bucket_s)
        buckets = self._buckets
        if buckets and index <= buckets[-1][0] - self._n:
            return  # older than the window can ever see again
        self.live_answers += live_answers
        self.abandons += abandons
        if not buckets or index > buckets[-1][0]:
            buckets.append([index, live_answers, abandons])
            return
        for bucket in reversed(buckets):  # late record: find its bucket, newest first
            if bucket[0] == index:
                bucket[1] += live_answers
                bucket[2] += abandons
                return
            if bucket[0] < index:
                break
        position = sum(1 for b in buckets if b[0] < index)
        buckets.insert(position, [index, live_answers, abandons])

    def advance(self, now: float) -> None:
        oldest_kept = math.floor(now / self.bucket_s) - self._n + 1
        buckets = self._buckets
        while buckets and buckets[0][0] < oldest_kept:
            _, live, abandoned = buckets.popleft()
            self.live_answers -= live
            self.abandons -= abandoned

    def stats(self) -> WindowStats:
        return WindowStats(self.window_s, self.live_answers, self.abandons)


class AbandonLedger:
    """Abandon counts of one campaign: to date and over each rolling window."""

    def __init__(self, windows_s: Iterable[float] = (3600.0,)) -> None:
        self._windows = {w: _RollingCounts(w) for w in sorted(set(windows_s))}
        self.live_answers = 0.0
        self.abandons = 0.0
        self._latest = -math.inf

    @property
    def windows_s(self) -> tuple[float, ...]:
        return tuple(self._windows)

    def record(self, at: float, abandoned: bool) -> None:
        """One live answer whose fate is known at ``at``: connected or abandoned."""
        self._add(at, 1, 1 if abandoned else 0)

    def record_machine(self, at: float, person_share: float) -> None:
        """A call AMD took for a machine: ``person_share`` of a person abandoned (Ofcom's
        AMD false-positive rule), added to the abandons and the live answers alike."""
        if person_share > 0:
            self._add(at, person_share, person_share)

    def restore(self, records: Iterable[AbandonRecord | tuple[float, bool]]) -> None:
        """Replay stored live answers (oldest first); the same as recording each again."""
        for record in records:
            at, abandoned = (record.at, record.abandoned) if isinstance(record, AbandonRecord) else record
            self._add(at, 1, 1 if abandoned else 0)

    def add(self, at: float, live_answers: float, abandons: float) -> None:
        """Counts at ``at``: ``live_answers`` live answers, of which ``abandons`` abandoned."""
        self._add(at, live_answers, abandons)

    def _add(self, at: float, live_answers: float, abandons: float) -> None:
        self.live_answers += live_answers
        self.abandons += abandons
        self._latest = max(self._latest, at)
        for counts in self._windows.values():
            counts.add(at, live_answers, abandons)
            counts.advance(self._latest)

    def campaign(self) -> WindowStats:
        return WindowStats(None, self.live_answers, self.abandons)

    def window(self, window_s: float, now: float) -> WindowStats:
        counts = self._windows.get(window_s)
        if counts is None:
            raise KeyError(f"this ledger keeps no {window_s:g} s window (it keeps {self.windows_s})")
        counts.advance(max(now, self._latest))
        return counts.stats()

    def stats(self, now: float) -> tuple[WindowStats, ...]:
        """The campaign to date, then each rolling window, shortest first."""
        return (self.campaign(), *(self.window(w, now) for w in self._windows))

    def budget(self, target: float, now: float, windows_s: Iterable[float] = ()) -> float:
        """The smallest number of abandons still allowed, to date and over ``windows_s``."""
        budget = self.campaign().budget(target)
        for window_s in windows_s:
            budget = min(budget, self.window(window_s, now).budget(target))
        return budget
