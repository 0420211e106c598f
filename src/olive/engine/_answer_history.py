"""What a campaign's rebuilt pacer learns its abandon windows from: bounded however busy.

A new plan gets a new pacer and abandon brake, which must see the live answers,
abandons and AMD's machines of the last ``LIVE_ANSWERS_S`` (``us-tsr``'s 30
days and a day). Kept one by one that was ~70 bytes per live answer: 3.7 MB an
hour at 1,000 agents' rate, several GB by the month's end. Kept here:

- abandons one by one (the pacer's clusters need their times; they are a few
  percent of live answers at most);
- connected answers and machines' person shares in buckets, 2.5 s wide for the
  last hour, a minute for the last day, half an hour beyond: the bucket sizes of
  the 1-hour, 24-hour and 30-day windows (each 1/1440 of its window,
  ``pacing.AbandonLedger``). A bucket replays at its start, which falls in the
  same bucket of those windows as every answer it counts, so they count what
  they counted before; any other window is right to within a bucket at its
  edges. At most 4,320 buckets.

Pure, like the runner: every call says what time it is about.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterator

from olive import pacing

LIVE_ANSWERS_S = 31 * 86400.0
"""How far back a rebuilt pacer learns live answers and machines again: the longest abandon
window (``us-tsr``'s 30 days) and a day to spare; a restarted engine reads as far back."""

#: (bucket width, kept at that width for so long), finest first; each width divides the next.
TIERS = ((2.5, 3600.0), (60.0, 86400.0), (1800.0, LIVE_ANSWERS_S))


class AnswerHistory:
    """Live answers, abandons and machines of the last ``LIVE_ANSWERS_S``, for a rebuilt pacer."""

    __slots__ = ("_abandons", "_latest", "_tiers")

    def __init__(self) -> None:
        # per tier: [bucket index, connected answers, machines' person share], oldest first
        self._tiers: tuple[deque[list[float]], ...] = tuple(deque() for _ in TIERS)
        self._abandons: deque[float] = deque()
        self._latest = -math.inf

    def __len__(self) -> int:
        """Entries kept: buckets and abandons (what memory grows with)."""
        return sum(len(t) for t in self._tiers) + len(self._abandons)

    def connected(self, at: float, count: int = 1) -> None:
        self._count(at, count, 0.0)

    def machine(self, at: float, person_share: float) -> None:
        self._count(at, 0, person_share)

    def abandoned(self, at: float) -> None:
        abandons = self._abandons
        if abandons and at < abandons[-1]:  # late: keep them in order
            position = len(abandons)
            while position and abandons[position - 1] > at:
                position -= 1
            abandons.insert(position, at)
        else:
            abandons.append(at)
        self._advance(at)

    def totals(self) -> tuple[int, int, float]:
        """(connected answers, abandons, machines' person share) kept."""
        connected = sum(int(b[1]) for tier in self._tiers for b in tier)
        share = sum(b[2] for tier in self._tiers for b in tier)
        return connected, len(self._abandons), share

    def replay(self) -> Iterator[pacing.RestoredLiveAnswer | pacing.MachineDetected]:
        """Everything kept, oldest first, as observations for a new pacer and brake."""
        tiers = [[(b[0] * width, 1, b) for b in tier] for (width, _), tier in zip(TIERS, self._tiers, strict=True)]
        abandons = [(at, 0, None) for at in self._abandons]
        for at, _, bucket in heapq.merge(*tiers, abandons, key=lambda e: (e[0], e[1])):
            if bucket is None:
                yield pacing.RestoredLiveAnswer(at, True)
                continue
            if bucket[1]:
                yield pacing.RestoredLiveAnswer(at, False, int(bucket[1]))
            if bucket[2]:
                yield pacing.MachineDetected(at, bucket[2])

    def _count(self, at: float, connected: int, share: float) -> None:
        width = TIERS[0][0]
        _add(self._tiers[0], math.floor(at / width), connected, share)
        self._advance(at)

    def _advance(self, at: float) -> None:
        """Move buckets past each tier's span to the next, coarser tier; forget the oldest."""
        self._latest = at = max(self._latest, at)  # a late one is kept, or forgotten, as the newest says
        for k, ((width, span), tier) in enumerate(zip(TIERS, self._tiers, strict=True)):
            oldest = math.floor((at - span) / width)
            coarser = self._tiers[k + 1] if k + 1 < len(TIERS) else None
            while tier and tier[0][0] < oldest:
                index, connected, share = tier.popleft()
                if coarser is not None:
                    next_width = TIERS[k + 1][0]
                    _add(coarser, math.floor(index * width / next_width), int(connected), share)
        abandons = self._abandons
        while abandons and abandons[0] < at - LIVE_ANSWERS_S:
            abandons.popleft()


def _add(tier: deque[list[float]], index: int, connected: int, share: float) -> None:
    if not tier or index > tier[-1][0]:
        tier.append([index, connected, share])
        return
    for bucket in reversed(tier):  # late: its bucket, newest first
        if bucket[0] == index:
            bucket[1] += connected
            bucket[2] += share
            return
        if bucket[0] < index:
            break
    position = sum(1 for b in tier if b[0] < index)
    tier.insert(position, [index, connected, share])


__all__ = ["LIVE_ANSWERS_S", "AnswerHistory"]
