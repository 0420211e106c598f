"""Whose local time counts, and whether the window is open in all of it.

A contact's zones come from its own ``timezone`` when it has one, else from
its number (phonenumbers' time-zone data: several zones for some area
codes), else from the schedule's ``fallback_timezone``. Where there are
several, the window must be open in every one of them at once.

Pure: time is passed in, zone data is read from tables in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from olive.compliance._schedule import HORIZON_DAYS, Schedule
from olive.phone import time_zones

_MAX_STEPS = 10_000


@dataclass(frozen=True, slots=True)
class Zones:
    """The zones a contact may be in, and where that came from.

    ``source``: ``contact`` (its own timezone), ``number`` (its phone
    number), ``fallback`` (the schedule's fallback_timezone) or ``unknown``.
    """

    names: tuple[str, ...]
    source: str

    @property
    def known(self) -> bool:
        return bool(self.names)


def contact_zones(timezone: str | None, number: str | None, fallback: str | None = None) -> Zones:
    if timezone:
        try:
            zone(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return Zones((), "unknown")
        return Zones((timezone,), "contact")
    found = time_zones(number) if number else ()
    if found:
        return Zones(tuple(sorted(set(found))), "number")
    if fallback:
        return Zones((fallback,), "fallback")
    return Zones((), "unknown")


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class HoursState:
    """The calling window at ``at`` for a set of zones.

    ``opens_at`` is ``at`` itself when open, the next instant it is open in
    every zone when closed, and None when that never happens within the
    horizon (zones too far apart for the window). ``closes_at`` is set when
    open: the first moment one of the zones leaves its window.
    """

    at: float
    open: bool
    zones: tuple[str, ...]
    local: tuple[datetime, ...]
    opens_at: float | None
    closes_at: float | None

    def local_text(self) -> str:
        """``20:59 Tue America/New_York``, one per zone."""
        return ", ".join(f"{d:%H:%M %a} {z}" for z, d in zip(self.zones, self.local, strict=True))


def open_in_all(schedule: Schedule, zones: Sequence[str], t: float) -> bool:
    return bool(zones) and all(schedule.open_at(zone(z), t) for z in zones)


def next_open_in_all(schedule: Schedule, zones: Sequence[str], t: float, horizon_days: int = HORIZON_DAYS) -> float | None:
    """The first instant at or after ``t`` when the window is open in every zone; None if never."""
    if not zones:
        return None
    limit = t + horizon_days * 86400.0
    current = t
    for _ in range(_MAX_STEPS):
        if current > limit:
            return None
        candidates = [schedule.next_open(zone(z), current, horizon_days) for z in zones]
        if any(c is None for c in candidates):
            return None
        latest = max(c for c in candidates if c is not None)
        if open_in_all(schedule, zones, latest):
            return latest
        # Some zone closed again by the time the last one opened: look on from there.
        current = latest if latest > current else current + 1.0
    return None


def closes_in_any(schedule: Schedule, zones: Sequence[str], t: float) -> float | None:
    ends = [schedule.closes_at(zone(z), t) for z in zones]
    if not ends or any(e is None for e in ends):
        return None
    return min(e for e in ends if e is not None)


def hours_state(schedule: Schedule, zones: Sequence[str], t: float) -> HoursState:
    names = tuple(zones)
    local = tuple(datetime.fromtimestamp(t, zone(z)) for z in names)
    is_open = open_in_all(schedule, names, t)
    return HoursState(
        at=t,
        open=is_open,
        zones=names,
        local=local,
        opens_at=t if is_open else next_open_in_all(schedule, names, t),
        closes_at=closes_in_any(schedule, names, t) if is_open else None,
    )


__all__ = [
    "HoursState",
    "Zones",
    "closes_in_any",
    "contact_zones",
    "hours_state",
    "next_open_in_all",
    "open_in_all",
    "zone",
]
