"""Calling hours: a campaign's schedule, read as local wall-clock time in a zone.

Pure: every function is handed the instant it is about (float seconds since
the epoch) and the zone; nothing reads a clock. Wall-clock times are turned
into instants with :mod:`zoneinfo`, so a window that opens at 08:00 opens at
08:00 local on both sides of a daylight-saving change.

The JSON a campaign's ``schedule`` holds (every key optional)::

    {
      "days": ["mon", "tue", "wed", "thu", "fri", "sat"],   # default: all seven
      "start": "09:00",                                     # default "08:00"
      "end": "20:00",                                       # default "21:00" (exclusive)
      "hours": {"sat": [["10:00", "14:00"]], "sun": []},   # per-day windows; [] closes the day
      "holidays": ["2026-12-25", "01-01"],                 # local dates, or MM-DD every year
      "fallback_timezone": "America/New_York"               # when a number's zone is unknown
    }

A day's windows are ``hours[day]`` when given, else ``[[start, end]]`` when
the day is in ``days``, else none. Times are ``HH:MM``; ``end`` may be
``24:00``; a window never crosses midnight. A window is open from its start
up to, not including, its end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_START = 8 * 60
DEFAULT_END = 21 * 60
HORIZON_DAYS = 400  # how far ahead next_open looks before giving up
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ANNUAL = re.compile(r"^\d{2}-\d{2}$")
_KEYS = ("days", "start", "end", "hours", "holidays", "fallback_timezone")


class ScheduleError(ValueError):
    """A schedule that cannot be used; the message names the field (``schedule.hours.sat[0]``)."""


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """Open from ``start`` to ``end`` minutes after local midnight (end exclusive)."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{minutes_text(self.start)}-{minutes_text(self.end)}"


@dataclass(frozen=True, slots=True)
class Schedule:
    week: tuple[tuple[Window, ...], ...] = field(
        default_factory=lambda: tuple((Window(DEFAULT_START, DEFAULT_END),) for _ in DAYS)
    )
    holidays: frozenset[date] = frozenset()
    annual_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day)
    fallback_timezone: str | None = None

    # -- reading the calendar -----------------------------------------------------
    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.annual_holidays

    def windows_on(self, day: date) -> tuple[Window, ...]:
        return () if self.is_holiday(day) else self.week[day.weekday()]

    def windows(self) -> Iterable[Window]:
        for day in self.week:
            yield from day

    # -- one zone -----------------------------------------------------------------
    def open_at(self, zone: ZoneInfo, t: float) -> bool:
        local = datetime.fromtimestamp(t, zone)
        second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return any(w.start * 60 <= second < w.end * 60 for w in self.windows_on(local.date()))

    def next_open(self, zone: ZoneInfo, t: float, horizon_days: int = HORIZON_DAYS) -> float | None:
        """The first instant at or after ``t`` when the window is open in ``zone``; None if never."""
        if self.open_at(zone, t):
            return t
        first = datetime.fromtimestamp(t, zone).date()
        for offset in range(horizon_days + 1):
            day = first + timedelta(days=offset)
            found = [
                start
                for w in self.windows_on(day)
                if (start := max(t, first_instant(zone, day, w.start))) < first_instant(zone, day, w.end)
                and self.open_at(zone, start)
            ]
            if found:
                return min(found)
        return None

    def closes_at(self, zone: ZoneInfo, t: float) -> float | None:
        """When the window open at ``t`` closes (following back-to-back windows); None if closed."""
        if not self.open_at(zone, t):
            return None
        end = t
        for _ in range(16):  # a window chain longer than two weeks is "open"
            local = datetime.fromtimestamp(end, zone)
            second = local.hour * 3600 + local.minute * 60 + local.second
            current = [w for w in self.windows_on(local.date()) if w.start * 60 <= second < w.end * 60]
            if not current:
                return end
            end = first_instant(zone, local.date(), max(w.end for w in current))
            if not self.open_at(zone, end):
                return end
        return end


def first_instant(zone: ZoneInfo, day: date, minute: int) -> float:
    """The first instant whose local wall time in ``zone`` is at or after ``day`` ``minute``.

    Plain when the wall time exists; the earlier of the two when it happens
    twice (clocks going back); the moment the clocks jump when it falls in
    the gap (clocks going forward).
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    valid = [
        ts
        for fold in (0, 1)
        if _wall(zone, ts := wall.replace(tzinfo=zone, fold=fold).timestamp()) == wall
    ]
    if valid:
        return min(valid)
    # In the gap: the jump lies between the two readings of the wall time.
    low = wall.replace(tzinfo=zone, fold=1).timestamp()
    high = wall.replace(tzinfo=zone, fold=0).timestamp()
    low, high = min(low, high), max(low, high)
    while high - low > 1.0:
        middle = (low + high) / 2
        if _wall(zone, middle) >= wall:
            high = middle
        else:
            low = middle
    return float(int(high)) if _wall(zone, float(int(high))) >= wall else high


def _wall(zone: ZoneInfo, ts: float) -> datetime:
    return datetime.fromtimestamp(ts, zone).replace(tzinfo=None)


def minutes_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# -- reading the JSON ---------------------------------------------------------------
def parse_schedule(raw: Mapping[str, Any] | None) -> Schedule:
    """A :class:`Schedule` from a campaign's ``schedule`` JSON (None: the default, 08:00-21:00 daily)."""
    if raw is None:
        return Schedule()
    if not isinstance(raw, Mapping):
        raise ScheduleError(f"schedule: expected an object, got {type(raw).__name__}")
    for key in raw:
        if key not in _KEYS:
            raise ScheduleError(f"schedule.{key}: unknown key (expected one of {', '.join(_KEYS)})")
    start = _clock(raw.get("start", "08:00"), "schedule.start")
    end = _clock(raw.get("end", "21:00"), "schedule.end")
    default = (_window(start, end, "schedule"),)
    days = _days(raw.get("days", list(DAYS)))
    hours = raw.get("hours", {})
    if not isinstance(hours, Mapping):
        raise ScheduleError("schedule.hours: expected an object of day -> [[start, end], ...]")
    for day in hours:
        if day not in DAYS:
            raise ScheduleError(f"schedule.hours.{day}: not a day (expected one of {', '.join(DAYS)})")
    week = tuple(
        _day_windows(hours[day], f"schedule.hours.{day}") if day in hours else (default if day in days else ())
        for day in DAYS
    )
    fixed, annual = _holidays(raw.get("holidays", []))
    fallback = raw.get("fallback_timezone")
    if fallback is not None:
        fallback = check_zone(fallback, "schedule.fallback_timezone")
    return Schedule(week, fixed, annual, fallback)


def check_zone(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        raise ScheduleError(f"{where}: expected an IANA time zone name such as America/New_York")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{where}: unknown time zone {name!r}") from None
    return name


def _clock(value: Any, where: str) -> int:
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise ScheduleError(f"{where}: expected a time HH:MM (00:00 to 24:00), got {value!r}")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _window(start: int, end: int, where: str) -> Window:
    if end <= start:
        raise ScheduleError(f"{where}: the end ({minutes_text(end)}) must be after the start ({minutes_text(start)})")
    return Window(start, end)


def _days(value: Any) -> frozenset[str]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ScheduleError("schedule.days: expected a list such as [\"mon\", \"tue\"]")
    out = set()
    for i, day in enumerate(value):
        if day not in DAYS:
            raise ScheduleError(f"schedule.days[{i}]: {day!r} is not a day ({', '.join(DAYS)})")
        out.add(day)
    return frozenset(out)


def _day_windows(value: Any, where: str) -> tuple[Window, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ScheduleError(f"{where}: expected a list of [start, end] pairs")
    windows = []
    for i, pair in enumerate(value):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise ScheduleError(f"{where}[{i}]: expected [start, end], e.g. [\"09:00\", \"17:00\"]")
        windows.append(_window(_clock(pair[0], f"{where}[{i}][0]"), _clock(pair[1], f"{where}[{i}][1]"), f"{where}[{i}]"))
    windows.sort()
    for before, after in pairwise(windows):
        if after.start < before.end:
            raise ScheduleError(f"{where}: windows {before} and {after} overlap")
    return tuple(windows)


def _holidays(value: Any) -> tuple[frozenset[date], frozenset[tuple[int, int]]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ScheduleError("schedule.holidays: expected a list of dates (YYYY-MM-DD or MM-DD)")
    fixed: set[date] = set()
    annual: set[tuple[int, int]] = set()
    for i, text in enumerate(value):
        where = f"schedule.holidays[{i}]"
        try:
            if isinstance(text, str) and _DATE.match(text):
                fixed.add(date.fromisoformat(text))
                continue
            if isinstance(text, str) and _ANNUAL.match(text):
                month, day = int(text[:2]), int(text[3:])
                date(2024, month, day)  # a leap year: 02-29 is allowed
                annual.add((month, day))
                continue
        except ValueError:
            raise ScheduleError(f"{where}: {text!r} is not a real date") from None
        raise ScheduleError(f"{where}: expected YYYY-MM-DD or MM-DD, got {text!r}")
    return frozenset(fixed), frozenset(annual)


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    """The JSON form of ``schedule`` (per-day windows spelled out); parse_schedule reads it back."""
    out: dict[str, Any] = {
        "hours": {day: [[minutes_text(w.start), minutes_text(w.end)] for w in windows] for day, windows in zip(DAYS, schedule.week, strict=True)},
        "holidays": sorted(d.isoformat() for d in schedule.holidays)
        + sorted(f"{m:02d}-{d:02d}" for m, d in schedule.annual_holidays),
    }
    if schedule.fallback_timezone:
        out["fallback_timezone"] = schedule.fallback_timezone
    return out


__all__ = [
    "DAYS",
    "DEFAULT_END",
    "DEFAULT_START",
    "Schedule",
    "ScheduleError",
    "Window",
    "check_zone",
    "first_instant",
    "minutes_text",
    "parse_schedule",
    "schedule_json",
]
