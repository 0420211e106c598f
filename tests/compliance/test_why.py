"""Explanations from the store: a contact in each campaign, and a campaign that dials nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from olive.compliance import explain_campaign, explain_contact, schedule_callback
from olive.store import DncCheck, DncRepository, NotFound, from_epoch

from .conftest import LATE_NY, LONDON_NUMBER, NOON_NY, Builder


class TestExplainContact:
    def test_eligible(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        [answer] = explain_contact(session, contact.id, NOON_NY)
        assert answer.eligibility.dial_now
        data = answer.as_dict()
        assert data["dial_now"] is True and data["reasons"] == []
        assert data["calling_hours"]["local_times"] == [{"zone": "America/New_York", "local_time": "2026-01-15T12:00:00-05:00"}]

    def test_records_no_dnc_check(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        DncRepository(session).add_number(contact.numbers[0].number)
        [answer] = explain_contact(session, contact.id, NOON_NY)
        assert [r.code for r in answer.eligibility.reasons] == ["dnc"]
        assert session.scalars(select(DncCheck)).all() == []

    def test_paused_and_after_hours_with_times(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(status="paused")
        contact = build.contact(campaign)
        [answer] = explain_contact(session, contact.id, LATE_NY)
        data = answer.as_dict()
        assert [r["code"] for r in data["reasons"]] == ["campaign_not_running", "outside_hours"]
        assert data["reasons"][1]["clears_at"] == "2026-01-16T13:00:00Z"
        assert data["eligible_at"] is None  # paused: clears only when an operator resumes

    def test_retry_delay_lockout_and_callback(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(profile="uk-ofcom", dial_mode="predictive")
        contact = build.contact(campaign, [LONDON_NUMBER], next_attempt_at=from_epoch(NOON_NY + 600), last_outcome="ABANDONED")
        build.call(campaign, contact, LONDON_NUMBER, outcome="ABANDONED", ended_at=from_epoch(NOON_NY - 60))
        [answer] = explain_contact(session, contact.id, NOON_NY)
        assert [r.code for r in answer.eligibility.reasons] == ["abandon_lockout"]
        other = build.contact(campaign, ["+442079460001"])
        schedule_callback(session, other.id, campaign.id, NOON_NY + 3600)
        [answer] = explain_contact(session, other.id, NOON_NY)
        assert [r.code for r in answer.eligibility.reasons] == ["callback_scheduled"]

    def test_unknown_contact(self, session: Session) -> None:
        with pytest.raises(NotFound):
            explain_contact(session, "cont_nope", NOON_NY)


class TestExplainCampaign:
    def test_dialing(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(agents=[build.agent()])
        build.contact(campaign)
        answer = explain_campaign(session, campaign.id, NOON_NY)
        assert answer.dialing and answer.due_now == 1 and answer.eligible_now == 1

    def test_everyone_outside_hours(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(agents=[build.agent()])
        for _ in range(3):
            build.contact(campaign)
        answer = explain_campaign(session, campaign.id, LATE_NY)
        assert not answer.dialing
        assert answer.held_back == {"outside_hours": 3}
        assert "every due contact is held back (3 outside_hours)" in answer.reasons

    def test_no_agents_ready_and_nothing_due(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(agents=[build.agent(state="paused")], drop_action="hangup")
        build.contact(campaign, next_attempt_at=from_epoch(NOON_NY + 600))
        answer = explain_campaign(session, campaign.id, NOON_NY)
        assert "no agent is ready (1 paused)" in answer.reasons
        assert "no contact is due now; the next is due at 2026-01-15T17:10:00Z" in answer.reasons
        assert any("drop_action is 'hangup'" in w for w in answer.warnings)

    def test_finished(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(status="finished", agents=[build.agent()])
        build.contact(campaign, status="done")
        answer = explain_campaign(session, campaign.id, NOON_NY)
        assert answer.reasons[0] == "the campaign is finished"
        assert any("no contact is left" in r for r in answer.reasons)
