"""Eligibility explanations: each reason, with the time it clears. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from olive.compliance import (
    CLOSING_MARGIN_S,
    LOCKOUT_S,
    ContactFacts,
    DialFacts,
    Schedule,
    Zones,
    dial_reasons,
    explain,
)

NY = Zones(("America/New_York",), "number")
NOON_NY = datetime(2026, 1, 15, 17, 0, tzinfo=UTC).timestamp()  # 12:00 in New York
LATE_NY = datetime(2026, 1, 16, 2, 30, tzinfo=UTC).timestamp()  # 21:30 in New York
NEXT_MORNING = datetime(2026, 1, 16, 13, 0, tzinfo=UTC).timestamp()  # 08:00 in New York


def dial(**fields: object) -> DialFacts:
    base = DialFacts(profile="us-tsr", dial_mode="predictive", zones=NY)
    return replace(base, **fields)  # type: ignore[arg-type]


def facts(**fields: object) -> ContactFacts:
    base = ContactFacts(
        campaign_status="running",
        contact_status="pending",
        next_attempt_at=None,
        last_outcome=None,
        attempts=0,
        number="+12125550100",
        dial=dial(),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def codes(e: object) -> list[str]:
    return [r.code for r in e.reasons]  # type: ignore[attr-defined]


class TestExplain:
    def test_eligible_now(self) -> None:
        e = explain(facts(), Schedule(), NOON_NY)
        assert e.dial_now and e.reasons == () and e.eligible_at == NOON_NY
        assert e.hours is not None and e.hours.open
        assert "eligible" in e.summary()

    def test_outside_hours_says_the_local_time_and_when_it_opens(self) -> None:
        e = explain(facts(), Schedule(), LATE_NY)
        assert codes(e) == ["outside_hours"]
        reason = e.reasons[0]
        assert reason.clears_at == NEXT_MORNING == e.eligible_at
        assert "21:30 Thu America/New_York" in reason.message
        assert "08:00 Fri America/New_York" in reason.message

    def test_no_call_starts_in_the_last_seconds_of_the_window(self) -> None:
        close = NEXT_MORNING - 11 * 3600  # 21:00 Thursday in New York
        assert explain(facts(), Schedule(), close - CLOSING_MARGIN_S - 1).dial_now
        e = explain(facts(), Schedule(), close - CLOSING_MARGIN_S + 1)
        assert codes(e) == ["outside_hours"]
        assert "closes at 21:00 Thu America/New_York" in e.reasons[0].message
        assert e.reasons[0].clears_at == NEXT_MORNING == e.eligible_at

    def test_campaign_paused(self) -> None:
        e = explain(facts(campaign_status="paused"), Schedule(), NOON_NY)
        assert codes(e) == ["campaign_not_running"]
        assert e.reasons[0].clears_at is None and "resume" in e.reasons[0].clears
        assert e.eligible_at is None

    def test_dnc_never_clears(self) -> None:
        e = explain(facts(dnc_list="global"), Schedule(), NOON_NY)
        assert codes(e) == ["dnc"]
        assert "global do-not-call list" in e.reasons[0].message
        assert e.eligible_at is None

    def test_contact_marked_dnc(self) -> None:
        assert codes(explain(facts(contact_status="dnc"), Schedule(), NOON_NY)) == ["dnc"]

    def test_attempts_exhausted(self) -> None:
        e = explain(facts(contact_status="exhausted", attempts=5, last_outcome="NO_ANSWER"), Schedule(), NOON_NY)
        assert codes(e) == ["attempts_exhausted"]
        assert "5 attempt(s)" in e.reasons[0].message and "NO_ANSWER" in e.reasons[0].message

    def test_done_and_in_call(self) -> None:
        assert codes(explain(facts(contact_status="done"), Schedule(), NOON_NY)) == ["done"]
        assert codes(explain(facts(contact_status="dialing"), Schedule(), NOON_NY)) == ["in_call"]

    def test_retry_delay(self) -> None:
        e = explain(facts(next_attempt_at=NOON_NY + 600, last_outcome="BUSY"), Schedule(), NOON_NY)
        assert codes(e) == ["retry_delay"]
        assert e.reasons[0].clears_at == NOON_NY + 600 == e.eligible_at

    def test_a_retry_that_ends_after_hours_waits_for_the_next_window(self) -> None:
        e = explain(facts(next_attempt_at=LATE_NY), Schedule(), NOON_NY)
        assert codes(e) == ["retry_delay"]
        assert e.eligible_at == NEXT_MORNING

    def test_a_retry_time_set_by_the_guard_is_not_a_second_reason(self) -> None:
        # The guard puts a contact refused for hours off until the window opens.
        e = explain(facts(next_attempt_at=NEXT_MORNING), Schedule(), LATE_NY)
        assert codes(e) == ["outside_hours"]

    def test_lockout_under_uk_ofcom(self) -> None:
        abandoned = NOON_NY - 3600
        e = explain(facts(dial=dial(profile="uk-ofcom", last_abandoned_at=abandoned)), Schedule(), NOON_NY)
        assert codes(e) == ["abandon_lockout"]
        assert e.reasons[0].clears_at == abandoned + LOCKOUT_S
        # 72 h later it is 11:00 New York: open
        assert e.eligible_at == abandoned + LOCKOUT_S

    def test_lockout_ends_after_72_hours(self) -> None:
        abandoned = NOON_NY - LOCKOUT_S
        assert explain(facts(dial=dial(profile="uk-ofcom", last_abandoned_at=abandoned)), Schedule(), NOON_NY).dial_now

    def test_no_lockout_when_progressive(self) -> None:
        d = dial(profile="uk-ofcom", dial_mode="progressive", last_abandoned_at=NOON_NY - 60)
        assert explain(facts(dial=d), Schedule(), NOON_NY).dial_now

    def test_no_lockout_under_us_tsr(self) -> None:
        assert explain(facts(dial=dial(last_abandoned_at=NOON_NY - 60)), Schedule(), NOON_NY).dial_now

    def test_unknown_time_zone(self) -> None:
        e = explain(facts(dial=dial(zones=Zones((), "unknown"))), Schedule(), NOON_NY)
        assert codes(e) == ["unknown_timezone"] and e.eligible_at is None

    def test_zones_without_a_common_window(self) -> None:
        from olive.compliance import parse_schedule

        schedule = parse_schedule({"start": "09:00", "end": "10:00"})
        d = dial(zones=Zones(("America/New_York", "Asia/Tokyo"), "number"))
        assert codes(explain(facts(dial=d), schedule, NOON_NY)) == ["no_common_window"]

    def test_callback_scheduled_and_its_owner(self) -> None:
        e = explain(facts(callback_due_at=NOON_NY + 1800, next_attempt_at=NOON_NY + 1800), Schedule(), NOON_NY)
        assert codes(e) == ["callback_scheduled"]
        assert e.eligible_at == NOON_NY + 1800
        away = facts(dial=dial(callback_owner="ann", callback_owner_ready=False))
        e = explain(away, Schedule(), NOON_NY)
        assert codes(e) == ["callback_owner_away"] and "ann" in e.reasons[0].message

    def test_a_schedule_without_windows(self) -> None:
        from olive.compliance import parse_schedule

        e = explain(facts(), parse_schedule({"days": []}), NOON_NY)
        assert codes(e) == ["no_common_window"] and "has no calling window" in e.reasons[0].message

    def test_plan_not_allowed(self) -> None:
        e = explain(facts(dial=dial(plan_problems=("dial_timeout_s must be at least 15 s",))), Schedule(), NOON_NY)
        assert codes(e) == ["plan_not_allowed"]

    def test_every_reason_is_listed(self) -> None:
        f = facts(
            campaign_status="paused",
            contact_status="pending",
            dnc_list="campaign's",
            dial=dial(profile="uk-ofcom", last_abandoned_at=LATE_NY - 60),
        )
        assert codes(explain(f, Schedule(), LATE_NY)) == ["campaign_not_running", "dnc", "outside_hours", "abandon_lockout"]

    def test_reasons_serialise(self) -> None:
        reason = explain(facts(), Schedule(), LATE_NY).reasons[0].as_dict()
        assert reason == {
            "code": "outside_hours",
            "message": reason["message"],
            "clears_at": "2026-01-16T13:00:00Z",
            "clears": "at 2026-01-16T13:00:00Z",
        }


class TestDialReasons:
    def test_the_guard_sees_the_same_rules(self) -> None:
        assert dial_reasons(dial(), Schedule(), NOON_NY) == []
        assert [r.code for r in dial_reasons(dial(), Schedule(), LATE_NY)] == ["outside_hours"]


class TestDefaultHoursUnderEveryProfile:
    """Issue 18: with no schedule set, 08:00-21:00 applies under every profile, `none` included;
    the refusal says so, so `olive why` does not leave the operator guessing."""

    def test_profile_none_without_a_schedule_still_keeps_the_default_hours(self) -> None:
        e = explain(facts(dial=dial(profile="none")), Schedule(), LATE_NY)
        assert codes(e) == ["outside_hours"]
        message = e.reasons[0].message
        assert "no schedule" in message and "08:00-21:00" in message and "'none'" in message

    def test_a_schedule_of_its_own_is_not_called_the_default(self) -> None:
        from olive.compliance import parse_schedule

        own = parse_schedule({"start": "09:00", "end": "17:00"})
        e = explain(facts(dial=dial(profile="none")), own, LATE_NY)
        assert codes(e) == ["outside_hours"]
        assert "no schedule" not in e.reasons[0].message
