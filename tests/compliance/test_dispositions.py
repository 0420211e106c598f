"""Dispositions: each flag's effect on the contact, once, after the call ends; callbacks."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from olive.compliance import (
    DispositionError,
    apply_disposition,
    apply_dispositions,
    cancel_callback,
    set_disposition,
)
from olive.errors import Conflict
from olive.store import (
    Call,
    Callback,
    Contact,
    DispositionCode,
    DncRepository,
    NotFound,
    from_epoch,
    to_epoch,
)

from .conftest import NOON_NY, NY_NUMBER, NY_NUMBER_2, Builder

ENDED: dict[str, Any] = {"outcome": "CONNECTED", "ended_at": from_epoch(NOON_NY - 60)}


def contact_of(session: Session, contact_id: str) -> Contact:
    session.expire_all()
    found = session.get(Contact, contact_id)
    assert found is not None
    return found


class TestSetDisposition:
    def test_final_makes_the_contact_done(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign, status="pending")
        call = build.call(campaign, contact, **ENDED)
        result = set_disposition(session, call.id, "not_interested", NOON_NY, by="agent1", note="no thanks")
        assert result.applied and result.code == "not_interested"
        row = session.get(Call, call.id)
        assert row is not None
        assert (row.disposition, row.disposition_by, row.disposition_note) == ("not_interested", "agent1", "no thanks")
        assert contact_of(session, contact.id).status == "done"

    def test_dnc_adds_the_number_at_once_and_stops_the_contact(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        call = build.call(campaign, contact, **ENDED)
        result = set_disposition(session, call.id, "dnc", NOON_NY, by="agent1")
        assert result.dnc_added
        entry = DncRepository(session).match(NY_NUMBER, None)
        assert entry is not None and entry.campaign_id is None and entry.source == "disposition dnc by agent1"
        assert contact_of(session, contact.id).status == "dnc"

    def test_callback_schedules_and_the_contact_waits_for_it(self, session: Session, build: Builder) -> None:
        agent = build.agent()
        campaign = build.campaign(agents=[agent])
        contact = build.contact(campaign, status="done")
        call = build.call(campaign, contact, **ENDED)
        due = NOON_NY + 86400
        result = set_disposition(session, call.id, "callback", NOON_NY, callback_at=due, callback_agent_id=agent.id)
        callback = session.get(Callback, result.callback_id)
        assert callback is not None
        assert (callback.status, callback.agent_id, callback.source_call_id) == ("scheduled", agent.id, call.id)
        row = contact_of(session, contact.id)
        assert row.status == "pending" and row.next_attempt_at is not None and to_epoch(row.next_attempt_at) == due

    def test_retry_tries_the_next_number_after_the_codes_delay(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign, [NY_NUMBER, NY_NUMBER_2], status="done")
        call = build.call(campaign, contact, **ENDED)
        set_disposition(session, call.id, "wrong_number", NOON_NY)
        row = contact_of(session, contact.id)
        assert (row.status, row.next_number_index) == ("pending", 1)
        assert row.next_attempt_at is not None and to_epoch(row.next_attempt_at) == NOON_NY + 3600

    def test_on_a_call_in_progress_it_waits_for_the_end(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign, status="dialing")
        call = build.call(campaign, contact, state="connected", ended_at=None)
        result = set_disposition(session, call.id, "sale", NOON_NY)
        assert not result.applied
        assert contact_of(session, contact.id).status == "dialing"
        assert not apply_disposition(session, call.id, NOON_NY)  # still up
        row = session.get(Call, call.id)
        assert row is not None
        row.ended_at, row.outcome = from_epoch(NOON_NY + 10), "CONNECTED"
        session.flush()
        assert apply_disposition(session, call.id, NOON_NY + 10)
        assert not apply_disposition(session, call.id, NOON_NY + 11)  # exactly once
        assert contact_of(session, contact.id).status == "done"

    def test_a_ticks_ended_calls_in_one_go(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        sold, busy, later = (build.contact(campaign, [n], status="dialing") for n in (NY_NUMBER, NY_NUMBER_2, NY_NUMBER))
        calls = [build.call(campaign, c, state="connected", ended_at=None) for c in (sold, busy, later)]
        set_disposition(session, calls[0].id, "sale", NOON_NY)
        set_disposition(session, calls[2].id, "sale", NOON_NY)
        for call in calls[:2]:  # the third is still up
            call.ended_at, call.outcome = from_epoch(NOON_NY + 10), "CONNECTED"
        session.flush()
        assert apply_dispositions(session, [c.id for c in calls], NOON_NY + 10) == [calls[0].id]
        assert apply_dispositions(session, [c.id for c in calls], NOON_NY + 11) == []  # exactly once
        assert [contact_of(session, c.id).status for c in (sold, busy, later)] == ["done", "dialing", "dialing"]
        assert apply_dispositions(session, [], NOON_NY) == []

    def test_codes_are_seeded_and_configurable(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        call = build.call(campaign, contact, **ENDED)
        with pytest.raises(DispositionError, match="code: unknown disposition code 'nope'"):
            set_disposition(session, call.id, "nope", NOON_NY)
        assert session.get(DispositionCode, "sale") is not None
        session.add(DispositionCode(code="deceased", label="Deceased", final=True, add_to_dnc=True))
        session.flush()
        set_disposition(session, call.id, "deceased", NOON_NY)
        assert contact_of(session, contact.id).status == "dnc"

    def test_errors(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        call = build.call(campaign, contact, **ENDED)
        with pytest.raises(NotFound):
            set_disposition(session, "call_nope", "sale", NOON_NY)
        with pytest.raises(DispositionError, match="callback_at"):
            set_disposition(session, call.id, "callback", NOON_NY)
        with pytest.raises(DispositionError, match="callback_at"):
            set_disposition(session, call.id, "sale", NOON_NY, callback_at=NOON_NY)
        with pytest.raises(DispositionError, match="callback_agent_id"):
            set_disposition(session, call.id, "callback", NOON_NY, callback_at=NOON_NY, callback_agent_id="agent_x")
        set_disposition(session, call.id, "sale", NOON_NY)
        with pytest.raises(Conflict):
            set_disposition(session, call.id, "not_interested", NOON_NY)

    def test_setting_it_again_before_the_end_replaces_the_callback(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign, status="dialing")
        call = build.call(campaign, contact, state="connected", ended_at=None)
        first = set_disposition(session, call.id, "callback", NOON_NY, callback_at=NOON_NY + 600)
        set_disposition(session, call.id, "sale", NOON_NY)
        old = session.get(Callback, first.callback_id)
        assert old is not None and old.status == "cancelled"


class TestCallbacks:
    def test_cancel(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        call = build.call(campaign, contact, **ENDED)
        result = set_disposition(session, call.id, "callback", NOON_NY, callback_at=NOON_NY + 600)
        assert result.callback_id is not None
        assert cancel_callback(session, result.callback_id).status == "cancelled"
        with pytest.raises(Conflict):
            cancel_callback(session, result.callback_id)
        assert session.scalars(select(Callback.status)).all() == ["cancelled"]
