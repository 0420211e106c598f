"""AbandonLedger: abandoned / live answers, to date and over rolling windows."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olive.pacing import AbandonLedger, AbandonRecord
from olive.pacing._abandon import BUCKETS_PER_WINDOW

HOUR = 3600.0
DAY = 86400.0
T0 = 1_800_000_000.0

records = st.lists(
    st.tuples(st.floats(min_value=0.0, max_value=3 * DAY), st.booleans()), min_size=0, max_size=300
).map(lambda rs: sorted(rs))


def brute_force(rs: list[tuple[float, bool]], window_s: float, now: float) -> tuple[int, int]:
    """Counts over the buckets the ledger keeps: the current one and the 1,439 before it."""
    bucket = window_s / BUCKETS_PER_WINDOW
    oldest = math.floor(now / bucket) - BUCKETS_PER_WINDOW + 1
    kept = [(t, a) for t, a in rs if math.floor(t / bucket) >= oldest]
    return len(kept), sum(a for _, a in kept)


class TestRestore:
    @given(records)
    @settings(max_examples=60, deadline=None)
    def test_windows_match_a_brute_force_count(self, rs: list[tuple[float, bool]]) -> None:
        rs = [(T0 + t, a) for t, a in rs]
        ledger = AbandonLedger((HOUR, DAY))
        ledger.restore(rs)
        now = rs[-1][0] if rs else T0
        for window in (HOUR, DAY):
            stats = ledger.window(window, now)
            assert (stats.live_answers, stats.abandons) == brute_force(rs, window, now)
        campaign = ledger.campaign()
        assert campaign.live_answers == len(rs)
        assert campaign.abandons == sum(a for _, a in rs)

    @given(records)
    @settings(max_examples=50, deadline=None)
    def test_restore_equals_live_recording(self, rs: list[tuple[float, bool]]) -> None:
        restored, live = AbandonLedger((HOUR,)), AbandonLedger((HOUR,))
        restored.restore(AbandonRecord(T0 + t, a) for t, a in rs)
        for t, abandoned in rs:
            live.record(T0 + t, abandoned)
        now = T0 + (rs[-1][0] if rs else 0.0)
        assert restored.stats(now) == live.stats(now)

    @given(records, st.floats(min_value=0.0, max_value=2 * DAY))
    @settings(max_examples=50, deadline=None)
    def test_windows_never_exceed_the_campaign(self, rs: list[tuple[float, bool]], later: float) -> None:
        ledger = AbandonLedger((HOUR, DAY))
        ledger.restore((T0 + t, a) for t, a in rs)
        now = T0 + (rs[-1][0] if rs else 0.0) + later
        hour, day = ledger.window(HOUR, now), ledger.window(DAY, now)
        campaign = ledger.campaign()
        assert hour.live_answers <= day.live_answers <= campaign.live_answers
        assert hour.abandons <= day.abandons <= campaign.abandons


class TestWindows:
    def test_a_bad_hour_leaves_the_hour_window_but_stays_in_the_campaign(self) -> None:
        ledger = AbandonLedger((HOUR, DAY))
        ledger.restore([(T0 + i, i % 5 == 0) for i in range(100)])  # 20 % abandoned
        assert ledger.window(HOUR, T0 + 200).rate == pytest.approx(0.2)
        assert ledger.window(HOUR, T0 + 2 * HOUR).live_answers == 0
        assert ledger.window(DAY, T0 + 2 * HOUR).rate == pytest.approx(0.2)
        assert ledger.campaign().rate == pytest.approx(0.2)

    def test_budget_is_the_smallest_over_the_windows(self) -> None:
        ledger = AbandonLedger((HOUR, DAY))
        ledger.restore([(T0 - 2 * HOUR + i, False) for i in range(1000)])  # an old clean stretch
        ledger.restore([(T0 + i, i < 3) for i in range(50)])  # a bad recent one
        now = T0 + 60
        assert ledger.budget(0.03, now) == pytest.approx(0.03 * 1050 - 3)
        assert ledger.budget(0.03, now, (HOUR,)) == pytest.approx(0.03 * 50 - 3)

    def test_late_records_land_in_their_bucket(self) -> None:
        ledger = AbandonLedger((HOUR,))
        ledger.record(T0 + 100, abandoned=False)
        ledger.record(T0 + 10, abandoned=True)
        assert ledger.window(HOUR, T0 + 100).abandons == 1
        assert ledger.window(HOUR, T0 + 100).live_answers == 2

    def test_unknown_window(self) -> None:
        with pytest.raises(KeyError, match="keeps no 60 s window"):
            AbandonLedger((HOUR,)).window(60.0, T0)

    def test_empty_rate_is_zero(self) -> None:
        assert AbandonLedger().campaign().rate == 0.0


def test_amds_estimated_people_count_on_both_sides_of_every_window() -> None:
    from olive.pacing import MachineDetected, PredictivePacer

    ledger = AbandonLedger((3600.0, 86400.0))
    for i in range(97):
        ledger.record(1000.0 + i, abandoned=i < 2)
    for i in range(100):  # 100 machines, 3 % of them people: 3 estimated abandons
        ledger.record_machine(1200.0 + i, 0.03)
    for stats in ledger.stats(1400.0):
        assert (stats.live_answers, stats.abandons) == pytest.approx((100.0, 5.0))
    assert ledger.window(3600.0, 1200.0 + 3600.0 + 100).live_answers == pytest.approx(0.0, abs=1e-9)
    assert ledger.budget(0.03, 1400.0, (86400.0,)) == pytest.approx(-2.0)
    pacer = PredictivePacer()
    pacer.observe(MachineDetected(1000.0, 0.25))
    assert pacer.ledger.campaign().abandons == pytest.approx(0.25)
