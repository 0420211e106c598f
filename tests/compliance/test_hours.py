"""Whose local time counts, and the window holding in every zone at once."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from olive.compliance import (
    Schedule,
    contact_zones,
    hours_state,
    next_open_in_all,
    open_in_all,
    parse_schedule,
)
from support.fuzzing import examples


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc, arg-type]


class TestContactZones:
    def test_the_contacts_own_zone_wins(self) -> None:
        zones = contact_zones("Europe/Paris", "+12125550100")
        assert (zones.names, zones.source) == (("Europe/Paris",), "contact")

    def test_else_the_numbers_zones(self) -> None:
        assert contact_zones(None, "+12125550100").names == ("America/New_York",)
        boise = contact_zones(None, "+12085550100")
        assert (boise.names, boise.source) == (("America/Boise", "America/Los_Angeles"), "number")

    def test_else_the_schedules_fallback(self) -> None:
        zones = contact_zones(None, "+15551230001", "America/Chicago")
        assert (zones.names, zones.source) == (("America/Chicago",), "fallback")

    def test_else_unknown(self) -> None:
        zones = contact_zones(None, "+15551230001")
        assert not zones.known and zones.source == "unknown"

    def test_a_bad_contact_zone_is_unknown_not_a_crash(self) -> None:
        assert not contact_zones("Mars/Olympus", "+12125550100").known


class TestEveryZone:
    def test_a_number_spanning_two_zones_waits_for_the_later_opening(self) -> None:
        schedule = Schedule()
        zones = contact_zones(None, "+12085550100").names  # Boise (Mountain) and Los Angeles (Pacific)
        t = utc(2026, 1, 15, 15, 30)  # 08:30 in Boise, 07:30 in Los Angeles
        assert not open_in_all(schedule, zones, t)
        assert next_open_in_all(schedule, zones, t) == utc(2026, 1, 15, 16, 0)

    def test_and_closes_at_the_earlier_closing(self) -> None:
        state = hours_state(Schedule(), ("America/Boise", "America/Los_Angeles"), utc(2026, 1, 16, 3, 30))
        assert state.open
        assert state.closes_at == utc(2026, 1, 16, 4, 0)  # 21:00 in Boise

    def test_zones_that_never_share_a_window(self) -> None:
        schedule = parse_schedule({"start": "09:00", "end": "10:00"})
        assert next_open_in_all(schedule, ("America/New_York", "Asia/Tokyo"), utc(2026, 1, 15)) is None

    def test_no_zones_never_opens(self) -> None:
        assert not open_in_all(Schedule(), (), utc(2026, 1, 15, 15))
        assert next_open_in_all(Schedule(), (), utc(2026, 1, 15, 15)) is None

    def test_local_text_names_each_zone(self) -> None:
        state = hours_state(Schedule(), ("America/New_York", "Europe/London"), utc(2026, 1, 15, 22, 5))
        assert state.local_text() == "17:05 Thu America/New_York, 22:05 Thu Europe/London"
        assert not state.open
        assert state.opens_at == utc(2026, 1, 16, 13, 0)  # 08:00 New York, 13:00 London

    @settings(max_examples=examples(50), deadline=None)
    @given(
        zones=st.lists(st.sampled_from(["America/New_York", "America/Chicago", "Europe/London", "Asia/Tokyo", "Australia/Sydney"]), min_size=1, max_size=3, unique=True),
        t=st.floats(min_value=utc(2025, 1, 1), max_value=utc(2026, 12, 31)),
    )
    def test_next_open_in_all_is_open_in_each(self, zones: list[str], t: float) -> None:
        found = next_open_in_all(Schedule(), zones, t)
        if found is not None:
            assert found >= t and open_in_all(Schedule(), zones, found)
            assert found == t or not open_in_all(Schedule(), zones, found - 1)
