"""EventClock's offset estimate, computed with one sort, equals the median-and-minimum it replaced."""

from __future__ import annotations

import math
import statistics
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from olive.engine._stamps import EventClock


class Reference:
    """The estimate as first written: statistics.median, then the least offset above the floor."""

    def __init__(self, outlier_s: float = 10.0, history: int = 256) -> None:
        self.outlier_s = outlier_s
        self.offsets: deque[float] = deque(maxlen=history)
        self.floor, self.estimate, self.since = -math.inf, math.inf, 0

    def offset(self, offset: float) -> float:
        self.offsets.append(offset)
        if len(self.offsets) < 3:
            return max(self.offsets)
        self.since += 1
        if self.since >= 32 or len(self.offsets) < 32:
            self.since = 0
            self.floor = statistics.median(self.offsets) - self.outlier_s
            self.estimate = min(o for o in self.offsets if o >= self.floor)
        elif self.floor <= offset < self.estimate:
            self.estimate = offset
        return self.estimate


@settings(max_examples=60, derandomize=True)
@given(st.lists(st.floats(-40, 40, allow_nan=False), min_size=1, max_size=400), st.integers(4, 64))
def test_the_estimate_is_the_reference_one(offsets: list[float], history: int) -> None:
    clock, reference = EventClock(history=history), Reference(history=history)
    for offset in offsets:
        assert clock._offset(offset) == reference.offset(offset)
