"""The compliance guard on a real store: each rule, and what a refusal does to the contact."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from olive.compliance import LOCKOUT_S, AllowAll, ComplianceGuard, DialObserver, schedule_callback
from olive.store import (
    Callback,
    Contact,
    DialContact,
    DncCheck,
    DncRepository,
    DueContact,
    DueNumber,
    due_rows,
    from_epoch,
)

from .conftest import LATE_NY, LONDON_NUMBER, NOON_NY, NY_NUMBER, NY_NUMBER_2, Builder

NEXT_MORNING_NY = NOON_NY + 20 * 3600  # 08:00 on Friday in New York


MODE = {"prepared": False}


@pytest.fixture(autouse=True, params=["one contact at a time", "prepared for the tick"])
def _mode(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every rule holds both ways the guard reads its facts: per contact (the preview verbs,
    and any contact it was not prepared for), and for a tick's candidates at once, on the
    plain rows the tick picks."""
    MODE["prepared"] = request.param == "prepared for the tick"
    yield
    MODE["prepared"] = False


def check(session: Session, build: Builder, campaign_id: str, contact_id: str, now: float = NOON_NY):  # type: ignore[no-untyped-def]
    campaign = build.load(campaign_id)
    guard = ComplianceGuard()
    if MODE["prepared"]:
        others = [c for c in due_rows(session, campaign_id, now, 100) if c.id != contact_id]
        contact: DialContact = _row(build.contact_row(contact_id))
        guard.prepare(session, campaign, [*others, contact], now)
    else:
        contact = build.contact_row(contact_id)
    number = contact.numbers[contact.next_number_index % len(contact.numbers)]
    verdict = guard.check(session, campaign, contact, number, now)
    guard.write_records(session)  # as the tick does once its calls are written
    return verdict


def _row(contact: Contact) -> DueContact:
    """The contact as the tick's pick reads it (whatever its status: the guard is asked anyway)."""
    numbers = tuple(DueNumber(n.id, n.number, n.position) for n in contact.numbers)
    return DueContact(
        contact.id, contact.dial_list_id, contact.timezone, contact.variables or {}, contact.attempts,
        contact.next_number_index, contact.next_attempt_at, numbers,
    )


class TestGuard:
    def test_is_an_observer_and_allow_all_is_not(self) -> None:
        assert isinstance(ComplianceGuard(), DialObserver)
        assert not isinstance(AllowAll(), DialObserver)

    def test_allows_and_records_a_clear_check(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        verdict = check(session, build, campaign.id, contact.id)
        assert verdict.allowed
        record = session.scalars(select(DncCheck)).one()
        assert (record.number, record.result, record.contact_id, record.campaign_id) == (NY_NUMBER, "clear", contact.id, campaign.id)

    def test_outside_hours_is_put_off_until_the_window_opens(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        verdict = check(session, build, campaign.id, contact.id, LATE_NY)
        assert not verdict.allowed and verdict.reason.startswith("outside_hours:")
        assert verdict.retry_at == NEXT_MORNING_NY
        assert session.scalars(select(DncCheck)).all() == []  # no call, no check

    def test_the_contacts_own_zone_counts(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign, [NY_NUMBER], timezone="Asia/Tokyo")  # 02:00 in Tokyo at NOON_NY
        verdict = check(session, build, campaign.id, contact.id)
        assert not verdict.allowed and verdict.retry_at == NOON_NY + 6 * 3600  # 08:00 Tokyo

    def test_unknown_zone_is_refused_and_looked_at_again_later(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign, ["+15551230001"])
        verdict = check(session, build, campaign.id, contact.id)
        assert not verdict.allowed and verdict.reason.startswith("unknown_timezone")
        assert verdict.retry_at == NOON_NY + 3600
        fallback = build.campaign(schedule={"fallback_timezone": "America/Chicago"})
        assert check(session, build, fallback.id, build.contact(fallback, ["+15551230001"]).id).allowed

    def test_dnc_blocks_records_and_ends_the_contact(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        DncRepository(session).add_number(NY_NUMBER)
        verdict = check(session, build, campaign.id, contact.id)
        assert not verdict.allowed and verdict.status == "dnc" and verdict.retry_at is None
        record = session.scalars(select(DncCheck)).one()
        assert (record.result, record.matched_list) == ("blocked", "global")

    def test_a_campaign_list_blocks_only_that_campaign(self, session: Session, build: Builder) -> None:
        campaign, other = build.campaign(), build.campaign()
        DncRepository(session).add_number(NY_NUMBER, campaign_id=campaign.id)
        assert not check(session, build, campaign.id, build.contact(campaign).id).allowed
        assert check(session, build, other.id, build.contact(other).id).allowed

    def test_a_blocked_number_moves_the_contact_to_its_next_clear_number(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign, [NY_NUMBER, NY_NUMBER_2])
        DncRepository(session).add_number(NY_NUMBER)
        verdict = check(session, build, campaign.id, contact.id)
        assert not verdict.allowed and verdict.status is None and verdict.retry_at == NOON_NY
        assert build.contact_row(contact.id).next_number_index == 1
        assert check(session, build, campaign.id, contact.id).allowed

    def test_a_plan_the_profile_forbids_dials_nobody(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(dial_timeout_s=10)
        verdict = check(session, build, campaign.id, build.contact(campaign).id)
        assert not verdict.allowed and verdict.reason.startswith("plan_not_allowed")
        loose = build.campaign(profile="none", dial_timeout_s=10)
        assert check(session, build, loose.id, build.contact(loose).id).allowed

    def test_a_schedule_beyond_legal_hours_dials_nobody_under_a_profile(self, session: Session, build: Builder) -> None:
        schedule = {"start": "07:00", "end": "22:00"}
        campaign = build.campaign(schedule=schedule)
        verdict = check(session, build, campaign.id, build.contact(campaign).id)
        assert not verdict.allowed and "07:00-22:00" in verdict.reason

    def test_uk_lockout_after_an_abandoned_call(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(profile="uk-ofcom", dial_mode="predictive")
        contact = build.contact(campaign, [LONDON_NUMBER])
        other_campaign = build.campaign(profile="us-tsr")
        abandoned_at = NOON_NY - 3600
        build.call(other_campaign, None, LONDON_NUMBER, outcome="ABANDONED", ended_at=from_epoch(abandoned_at))
        verdict = check(session, build, campaign.id, contact.id)
        assert not verdict.allowed and verdict.reason.startswith("abandon_lockout")
        assert verdict.retry_at == abandoned_at + LOCKOUT_S  # 16:00 London: open
        assert check(session, build, campaign.id, contact.id, abandoned_at + LOCKOUT_S).allowed

    def test_uk_24_hours_after_amd_took_the_number_for_a_machine(self, session: Session, build: Builder) -> None:
        # Ofcom: a repeat call within 24 h of an AMD machine only with an agent guaranteed.
        campaign = build.campaign(profile="uk-ofcom", dial_mode="predictive", amd="hangup")
        contact = build.contact(campaign, [LONDON_NUMBER])
        machine_at = NOON_NY - 3600
        build.call(campaign, None, LONDON_NUMBER, outcome="MACHINE", ended_at=from_epoch(machine_at))
        verdict = check(session, build, campaign.id, contact.id)
        assert not verdict.allowed and verdict.reason.startswith("machine_lockout")
        assert verdict.retry_at == machine_at + 24 * 3600  # 16:00 London: open
        assert check(session, build, campaign.id, contact.id, machine_at + 24 * 3600).allowed
        progressive = build.campaign(profile="uk-ofcom", dial_mode="progressive", amd="hangup")
        assert check(session, build, progressive.id, build.contact(progressive, [LONDON_NUMBER]).id).allowed
        us = build.campaign(profile="us-tsr", dial_mode="predictive", amd="hangup")
        assert check(session, build, us.id, build.contact(us, [LONDON_NUMBER]).id).allowed

    def test_uk_lockout_waits_for_the_window_too(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(profile="uk-ofcom", dial_mode="power")
        contact = build.contact(campaign, [LONDON_NUMBER])
        abandoned_at = NOON_NY + 5 * 3600  # 22:00 London
        build.call(campaign, None, LONDON_NUMBER, outcome="ABANDONED", ended_at=from_epoch(abandoned_at))
        verdict = check(session, build, campaign.id, contact.id, abandoned_at + 60)
        assert verdict.retry_at == abandoned_at + LOCKOUT_S + 10 * 3600  # 72 h later is 22:00; opens 08:00

    def test_progressive_is_exempt_from_the_lockout(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(profile="uk-ofcom", dial_mode="progressive")
        contact = build.contact(campaign, [LONDON_NUMBER])
        build.call(campaign, None, LONDON_NUMBER, outcome="ABANDONED", ended_at=from_epoch(NOON_NY - 60))
        assert check(session, build, campaign.id, contact.id).allowed

    def test_an_owned_callback_waits_for_its_agent(self, session: Session, build: Builder) -> None:
        ann = build.agent(state="on_call")
        campaign = build.campaign(agents=[ann])
        contact = build.contact(campaign)
        schedule_callback(session, contact.id, campaign.id, NOON_NY - 60, agent_id=ann.id)
        verdict = check(session, build, campaign.id, contact.id)
        assert not verdict.allowed and verdict.reason.startswith("callback_owner_away")
        assert verdict.retry_at == NOON_NY + 30
        ann.state = "ready"
        session.flush()
        assert check(session, build, campaign.id, contact.id).allowed


class TestObserver:
    def test_dialed_links_the_check_and_serves_the_callback(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        callback = schedule_callback(session, contact.id, campaign.id, NOON_NY - 60)
        guard = ComplianceGuard()
        contact = build.contact_row(contact.id)
        assert guard.check(session, build.load(campaign.id), contact, contact.numbers[0], NOON_NY).allowed
        guard.dialed(session, build.load(campaign.id), contact, "call_X", NOON_NY)
        assert session.scalars(select(DncCheck)).one().call_id == "call_X"
        served = session.get(Callback, callback.id)
        assert served is not None and (served.status, served.call_id) == ("done", "call_X")


class TestPrepared:
    def test_a_tick_reads_its_facts_in_a_few_statements_whatever_the_number_of_contacts(
        self, session: Session, build: Builder
    ) -> None:
        ann = build.agent(state="ready")
        campaign = build.campaign(profile="uk-ofcom", dial_mode="progressive", agents=[ann])
        contacts = [build.contact(campaign, [f"+4420794600{i:02d}"]) for i in range(20)]
        schedule_callback(session, contacts[0].id, campaign.id, NOON_NY - 60, agent_id=ann.id)
        DncRepository(session).add_number("+442079460005")
        campaign = build.load(campaign.id)
        rows = due_rows(session, campaign.id, NOON_NY, 50)
        assert len(rows) == 20
        guard = ComplianceGuard()
        engine = session.get_bind()
        statements: list[str] = []

        def keep(_c: object, _cur: object, statement: str, *_: object) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", keep)
        try:
            guard.prepare(session, campaign, rows, NOON_NY)
            prepared = len(statements)
            verdicts = [guard.check(session, campaign, c, c.numbers[0], NOON_NY) for c in rows]
            for contact, verdict in zip(rows, verdicts, strict=True):
                if verdict.allowed:
                    guard.dialed(session, campaign, contact, f"call_{contact.id}", NOON_NY)
            checked = len(statements) - prepared
            guard.write_records(session)
            written = statements[prepared + checked:]
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        assert prepared <= 5, statements  # callbacks, their owner, lockouts, DNC entries
        assert checked == 0, statements[prepared:]  # nothing read per contact
        assert sum("dnc_checks" in w for w in written) == 1, written  # the 20 DNC checks in one INSERT
        refused = [(c.numbers[0].number, v.status) for c, v in zip(rows, verdicts, strict=True) if not v.allowed]
        assert refused == [("+442079460005", "dnc")]
        checks = session.scalars(select(DncCheck)).all()
        assert len(checks) == 20 and sum(c.call_id is not None for c in checks) == 19
        served = session.scalars(select(Callback)).one()
        assert (served.status, served.call_id) == ("done", f"call_{contacts[0].id}")

    def test_a_contact_it_was_not_prepared_for_is_read_on_its_own(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        first, later = build.contact(campaign), build.contact(campaign, [NY_NUMBER_2])
        guard = ComplianceGuard()
        guard.prepare(session, build.load(campaign.id), [r for r in due_rows(session, campaign.id, NOON_NY, 50) if r.id == first.id], NOON_NY)
        DncRepository(session).add_number(NY_NUMBER_2)
        contact = build.contact_row(later.id)
        verdict = guard.check(session, build.load(campaign.id), contact, contact.numbers[0], NOON_NY)
        assert not verdict.allowed and verdict.status == "dnc"
