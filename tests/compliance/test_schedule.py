"""The schedule evaluator: pure, DST-correct, checked against brute force."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olive.compliance import Schedule, ScheduleError, Window, parse_schedule
from olive.compliance._schedule import DAYS, first_instant, schedule_json
from support.fuzzing import examples

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc, arg-type]


def at(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


class TestParseSchedule:
    def test_none_is_eight_to_nine_every_day(self) -> None:
        schedule = parse_schedule(None)
        assert schedule.week == tuple((Window(8 * 60, 21 * 60),) for _ in DAYS)
        assert schedule == Schedule()

    def test_days_start_end(self) -> None:
        schedule = parse_schedule({"days": ["mon", "sat"], "start": "09:30", "end": "20:00"})
        assert schedule.week[0] == (Window(570, 1200),)
        assert schedule.week[5] == (Window(570, 1200),)
        assert schedule.week[1] == () and schedule.week[6] == ()

    def test_hours_override_a_day_and_can_close_it(self) -> None:
        schedule = parse_schedule({"hours": {"sat": [["10:00", "12:00"], ["13:00", "14:00"]], "sun": []}})
        assert schedule.week[5] == (Window(600, 720), Window(780, 840))
        assert schedule.week[6] == ()
        assert schedule.week[0] == (Window(480, 1260),)

    def test_holidays_fixed_and_annual(self) -> None:
        schedule = parse_schedule({"holidays": ["2026-12-24", "12-25", "02-29"]})
        assert schedule.is_holiday(date(2026, 12, 24))
        assert not schedule.is_holiday(date(2027, 12, 24))
        assert schedule.is_holiday(date(2031, 12, 25))
        assert schedule.is_holiday(date(2028, 2, 29))
        assert schedule.windows_on(date(2026, 12, 25)) == ()

    def test_end_may_be_midnight(self) -> None:
        assert parse_schedule({"start": "00:00", "end": "24:00"}).week[0] == (Window(0, 1440),)

    def test_round_trips_through_json(self) -> None:
        schedule = parse_schedule({"days": ["tue"], "hours": {"sat": [["10:00", "12:00"]]}, "holidays": ["01-01"], "fallback_timezone": "Europe/London"})
        assert parse_schedule(schedule_json(schedule)) == schedule

    @pytest.mark.parametrize(
        ("raw", "where"),
        [
            ({"start": "8:00"}, "schedule.start"),
            ({"end": "25:00"}, "schedule.end"),
            ({"start": "21:00", "end": "08:00"}, "schedule: the end"),
            ({"days": ["monday"]}, "schedule.days[0]"),
            ({"days": "mon"}, "schedule.days"),
            ({"hours": {"sat": [["10:00"]]}}, "schedule.hours.sat[0]"),
            ({"hours": {"sat": [["10:00", "12:00"], ["11:00", "13:00"]]}}, "overlap"),
            ({"hours": {"caturday": []}}, "schedule.hours.caturday"),
            ({"holidays": ["2026-02-30"]}, "schedule.holidays[0]"),
            ({"holidays": ["25/12"]}, "schedule.holidays[0]"),
            ({"fallback_timezone": "Mars/Olympus"}, "schedule.fallback_timezone"),
            ({"timezone": "UTC"}, "schedule.timezone: unknown key"),
        ],
    )
    def test_errors_name_the_field(self, raw: dict[str, object], where: str) -> None:
        with pytest.raises(ScheduleError, match=where.replace("[", r"\[").replace("]", r"\]")):
            parse_schedule(raw)


class TestOpenAt:
    def test_window_start_inclusive_end_exclusive(self) -> None:
        schedule = Schedule()
        # 2026-01-15: New York is UTC-5.
        assert not schedule.open_at(NY, utc(2026, 1, 15, 12, 59, 59))
        assert schedule.open_at(NY, utc(2026, 1, 15, 13, 0, 0))
        assert schedule.open_at(NY, utc(2026, 1, 16, 1, 59, 59))
        assert not schedule.open_at(NY, utc(2026, 1, 16, 2, 0, 0))

    def test_holiday_is_closed_all_day(self) -> None:
        schedule = parse_schedule({"holidays": ["2026-01-15"]})
        assert not schedule.open_at(NY, utc(2026, 1, 15, 17, 0))
        assert schedule.open_at(NY, utc(2026, 1, 16, 17, 0))

    def test_holiday_is_a_local_date(self) -> None:
        # 2026-01-16 02:30 UTC is still 2026-01-15 21:30 in New York: after hours, not the holiday.
        schedule = parse_schedule({"holidays": ["2026-01-16"], "end": "22:00"})
        assert schedule.open_at(NY, utc(2026, 1, 16, 2, 30))


class TestDaylightSaving:
    def test_new_york_opens_an_hour_earlier_in_utc_after_spring_forward(self) -> None:
        schedule = Schedule()
        assert at(schedule.next_open(NY, utc(2025, 3, 8, 5, 0))) == datetime(2025, 3, 8, 13, 0, tzinfo=UTC)
        assert at(schedule.next_open(NY, utc(2025, 3, 9, 5, 0))) == datetime(2025, 3, 9, 12, 0, tzinfo=UTC)

    def test_new_york_fall_back(self) -> None:
        schedule = Schedule()
        assert at(schedule.next_open(NY, utc(2025, 11, 1, 5, 0))) == datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
        assert at(schedule.next_open(NY, utc(2025, 11, 2, 5, 0))) == datetime(2025, 11, 2, 13, 0, tzinfo=UTC)
        # closing at 21:00 EST is 02:00 UTC the next day
        assert at(schedule.closes_at(NY, utc(2025, 11, 2, 20, 0))) == datetime(2025, 11, 3, 2, 0, tzinfo=UTC)

    def test_london_summer_time(self) -> None:
        schedule = Schedule()
        assert at(schedule.next_open(LONDON, utc(2025, 3, 29, 0, 0))) == datetime(2025, 3, 29, 8, 0, tzinfo=UTC)
        assert at(schedule.next_open(LONDON, utc(2025, 3, 30, 0, 0))) == datetime(2025, 3, 30, 7, 0, tzinfo=UTC)

    def test_a_window_starting_in_the_gap_opens_when_the_clocks_jump(self) -> None:
        schedule = parse_schedule({"start": "02:30", "end": "05:00"})
        # 2025-03-09 02:30 does not exist in New York: clocks go from 02:00 EST to 03:00 EDT (07:00 UTC).
        assert first_instant(NY, date(2025, 3, 9), 150) == utc(2025, 3, 9, 7, 0)
        assert at(schedule.next_open(NY, utc(2025, 3, 9, 5, 0))) == datetime(2025, 3, 9, 7, 0, tzinfo=UTC)
        assert not schedule.open_at(NY, utc(2025, 3, 9, 6, 59, 59))

    def test_a_repeated_hour_starts_at_its_first_occurrence(self) -> None:
        # 2025-11-02 01:30 happens twice in New York: 05:30 UTC (EDT) and 06:30 UTC (EST).
        assert first_instant(NY, date(2025, 11, 2), 90) == utc(2025, 11, 2, 5, 30)


class TestNextOpen:
    def test_open_now_is_now(self) -> None:
        t = utc(2026, 1, 15, 15, 0)
        assert Schedule().next_open(NY, t) == t

    def test_skips_closed_days_and_holidays(self) -> None:
        schedule = parse_schedule({"days": ["mon", "tue", "wed", "thu", "fri"], "holidays": ["2026-01-19"]})
        # Friday 2026-01-16 21:30 New York -> Tuesday 08:00 (Monday is a holiday)
        assert at(schedule.next_open(NY, utc(2026, 1, 17, 2, 30))) == datetime(2026, 1, 20, 13, 0, tzinfo=UTC)

    def test_never_open_is_none(self) -> None:
        schedule = parse_schedule({"days": [], "hours": {}})
        assert schedule.next_open(NY, utc(2026, 1, 1)) is None

    def test_closes_at_follows_back_to_back_windows(self) -> None:
        schedule = parse_schedule({"hours": {d: [["08:00", "12:00"], ["12:00", "13:00"]] for d in DAYS}})
        assert at(schedule.closes_at(NY, utc(2026, 1, 15, 14, 0))) == datetime(2026, 1, 15, 18, 0, tzinfo=UTC)
        assert schedule.closes_at(NY, utc(2026, 1, 15, 19, 0)) is None


ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham", "America/St_Johns", "UTC"]
QUARTER = 15 * 60


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    week = []
    for _ in DAYS:
        marks = sorted(set(draw(st.lists(st.integers(0, 96), max_size=4))))
        if len(marks) % 2:
            marks = marks[:-1]
        week.append(tuple(Window(marks[i] * 15, marks[i + 1] * 15) for i in range(0, len(marks), 2) if marks[i] < marks[i + 1]))
    return Schedule(tuple(week))


class TestAgainstBruteForce:
    @settings(max_examples=examples(60), deadline=None)
    @given(
        schedule=schedules(),
        zone_name=st.sampled_from(ZONES),
        t=st.floats(min_value=utc(2024, 1, 1), max_value=utc(2026, 12, 31), allow_nan=False),
    )
    def test_next_open_is_the_first_open_instant(self, schedule: Schedule, zone_name: str, t: float) -> None:
        zone = ZoneInfo(zone_name)
        found = schedule.next_open(zone, t, horizon_days=10)
        grid = (int(t) // QUARTER + 1) * QUARTER
        end = found if found is not None else t + 9 * 86400
        # No quarter hour between t and the answer is open (windows are whole quarter hours).
        assert not any(schedule.open_at(zone, g) for g in range(grid, int(end), QUARTER) if g < end)
        if found is not None:
            assert found >= t
            assert schedule.open_at(zone, found)
            assert found == t or not schedule.open_at(zone, found - 1)

    @settings(max_examples=examples(60), deadline=None)
    @given(schedule=schedules(), zone_name=st.sampled_from(ZONES), t=st.floats(min_value=utc(2024, 1, 1), max_value=utc(2026, 12, 31)))
    def test_closes_at_is_the_first_closed_instant(self, schedule: Schedule, zone_name: str, t: float) -> None:
        zone = ZoneInfo(zone_name)
        end = schedule.closes_at(zone, t)
        if not schedule.open_at(zone, t):
            assert end is None
            return
        assert end is not None and end > t
        assert not schedule.open_at(zone, end) or end - t >= 13 * 86400
        assert schedule.open_at(zone, end - 1)
