"""When an AMI event happened, on olive's clock: Asterisk's stamp, checked at the edge.

Asterisk stamps events (``timestampevents = yes``); the stamp is free of
olive's own processing delays, so recorded waits and talk times are what the
customer lived. A stamp is mapped onto olive's clock by an offset (clock skew
plus the least network delay) estimated from recent events.

One bad stamp must not bend every later time (issue 10: ``Timestamp: 1e12``
put every call in the year -29605; a stamp 21 h ahead gave negative ring
times and ``talk_s`` of 21 h). So a stamp that is not a finite number within
``window_s`` of arrival is ignored for olive's own clock and never enters the
offset estimate; the estimate ignores offsets far below the recent median;
and a link's event times never go backwards. Pure: arrival time is passed in.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

WINDOW_S = 300.0  # NTP keeps real servers within milliseconds; 5 minutes is generous
OUTLIER_S = 10.0  # offsets this far below the median are one event's bad stamp, not jitter


class EventClock:
    """Maps each event's stamp onto olive's clock, refusing stamps outside a sane window."""

    def __init__(self, *, window_s: float = WINDOW_S, outlier_s: float = OUTLIER_S, history: int = 256) -> None:
        """Seconds of the clock in use: a simulator's scaled clock scales them (``scaled``)."""
        self.window_s = window_s
        self.outlier_s = outlier_s
        self._offsets: deque[float] = deque(maxlen=history)
        self._floor = -math.inf  # offsets below it are outliers (median - OUTLIER_S)
        self._estimate = math.inf
        self._since_estimate = 0
        self._last = -math.inf
        self.ignored = 0  # stamps refused, since start

    def __repr__(self) -> str:
        return f"<EventClock window={self.window_s:g}s ignored={self.ignored}>"

    @property
    def lag_s(self) -> float | None:
        """How much later than the quickest one the last time-stamped event arrived."""
        return self._offsets[-1] - min(self._offsets) if self._offsets else None

    def time_of(self, stamp: str | None, received: float) -> tuple[float, bool]:
        """``(when, refused)``: the event's time, and whether its stamp was refused."""
        at = _parse(stamp)
        refused = at is not None and not abs(received - at) <= self.window_s
        if at is None or refused:
            when = received
        else:
            when = min(received, at + self._offset(received - at))
        when = max(when, min(self._last, received))  # never before an earlier event
        self._last = when
        if refused:
            self.ignored += 1
        return when, refused

    def _offset(self, offset: float) -> float:
        """Add one offset; the estimate: the least recent offset that is not an outlier."""
        self._offsets.append(offset)
        if len(self._offsets) < 3:  # too few for a median: the later (safer) mapping
            return max(self._offsets)
        self._since_estimate += 1
        if self._since_estimate >= 32 or len(self._offsets) < 32:  # the median moves slowly
            self._since_estimate = 0
            # One sort gives both: the median, and the least offset at or above the floor.
            ordered = sorted(self._offsets)
            n = len(ordered)
            median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
            self._floor = median - self.outlier_s
            self._estimate = ordered[bisect.bisect_left(ordered, self._floor)]
        elif self._floor <= offset < self._estimate:
            self._estimate = offset
        return self._estimate


def scaled(scale: float) -> EventClock:
    """For a clock running ``scale`` times real time: network delays and skews are real seconds."""
    return EventClock(window_s=WINDOW_S * scale, outlier_s=OUTLIER_S * scale)


def _parse(stamp: str | None) -> float | None:
    """The stamp as seconds, None when there is none; NaN and infinities are refused."""
    if not stamp:
        return None
    try:
        at = float(stamp)
    except ValueError:
        return math.nan
    return at


__all__ = ["OUTLIER_S", "WINDOW_S", "EventClock", "scaled"]
