"""Models: defaults, CRUD per aggregate, constraints, cascades, times and JSON round-trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, InvalidRequestError, StatementError
from sqlalchemy.orm import Session, selectinload

from olive.store import (
    Agent,
    Call,
    Callback,
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    DispositionCode,
    DncNumber,
    Plan,
    campaign_agents,
    campaign_dial_lists,
    default_retry_rules,
)

from .conftest import Factory

T = TypeVar("T")


def reload(session: Session, model: type[T], id: str, *options: Any) -> T:
    """A fresh copy from the database, not the identity map."""
    session.expunge_all()
    found = session.get(model, id, options=options)
    assert found is not None
    return found


class TestPlan:
    def test_defaults(self, session: Session, factory: Factory) -> None:
        plan = reload(session, Plan, factory.plan(name="p").id)
        assert plan.id.startswith("plan_")
        assert (plan.dial_mode, plan.dial_timeout_s, plan.context) == (
            "progressive",
            30,
            "olive-dialer",
        )
        assert (plan.max_concurrent, plan.lines_per_agent, plan.max_calls_per_second) == (
            50,
            1.5,
            10.0,
        )
        assert (plan.abandon_target, plan.wrapup_s, plan.connect_limit_s) == (0.03, 0.0, 2.0)
        assert (plan.drop_action, plan.drop_message, plan.caller_id) == ("hangup", None, None)
        assert plan.retry_rules == default_retry_rules()
        assert plan.created_at.tzinfo == UTC

    def test_update(self, session: Session, factory: Factory) -> None:
        plan = factory.plan()
        created, updated = plan.created_at, plan.updated_at
        plan.dial_mode = "power"
        plan.retry_rules = {"BUSY": {"max_attempts": 9, "delay_s": 1}}
        session.flush()
        again = reload(session, Plan, plan.id)
        assert again.dial_mode == "power"
        assert again.retry_rule("BUSY").max_attempts == 9
        assert again.created_at == created
        assert again.updated_at >= updated

    def test_name_is_unique(self, session: Session, factory: Factory) -> None:
        factory.plan(name="same")
        with pytest.raises(IntegrityError):
            factory.plan(name="same")

    @pytest.mark.parametrize(
        "field, value",
        [
            ("dial_timeout_s", 0),
            ("dial_timeout_s", 301),
            ("channel_template", "PJSIP/trunk"),
            ("channel_template", "PJSIP/{num}@trunk"),
            ("dial_mode", "manual"),
            ("max_concurrent", 0),
            ("lines_per_agent", 0.0),
            ("max_calls_per_second", 0.0),
            ("abandon_target", 1.5),
            ("abandon_target", -0.1),
            ("wrapup_s", -1.0),
            ("connect_limit_s", 0.0),
            ("drop_action", "music"),
            ("drop_action", "message"),  # without a drop_message
        ],
    )
    def test_check_constraints_refuse(
        self, session: Session, factory: Factory, field: str, value: object
    ) -> None:
        with pytest.raises(IntegrityError):
            factory.plan(**{field: value})

    @pytest.mark.parametrize(
        "fields",
        [
            {"dial_timeout_s": 1},
            {"dial_timeout_s": 300},
            {"channel_template": "Local/{number}@olive-out"},
            {"drop_action": "message", "drop_message": "safe-harbour"},
            {"abandon_target": 0.0},
        ],
    )
    def test_check_constraints_accept_edges(
        self, session: Session, factory: Factory, fields: dict[str, object]
    ) -> None:
        assert factory.plan(**fields).id

    def test_delete_refused_while_a_campaign_uses_it(
        self, session: Session, factory: Factory
    ) -> None:
        plan = factory.plan()
        factory.campaign(plan=plan)
        session.delete(plan)
        with pytest.raises(IntegrityError):
            session.flush()


class TestCampaign:
    def test_defaults_and_links(self, session: Session, factory: Factory) -> None:
        lists = [factory.dial_list(), factory.dial_list()]
        agents = [factory.agent(), factory.agent()]
        campaign = factory.campaign(dial_lists=lists, agents=agents)
        again = reload(
            session,
            Campaign,
            campaign.id,
            selectinload(Campaign.dial_lists),
            selectinload(Campaign.agents),
            selectinload(Campaign.plan),
        )
        assert again.id.startswith("camp_")
        assert (again.status, again.server, again.compliance_profile) == (
            "stopped",
            "default",
            "us-tsr",
        )
        assert (again.default_region, again.schedule, again.started_at) == ("US", None, None)
        assert {d.id for d in again.dial_lists} == {d.id for d in lists}
        assert {a.id for a in again.agents} == {a.id for a in agents}
        assert again.plan.name.startswith("plan")

    def test_relationships_never_lazy_load(self, session: Session, factory: Factory) -> None:
        campaign = reload(session, Campaign, factory.campaign().id)
        with pytest.raises(InvalidRequestError):
            _ = campaign.dial_lists

    @pytest.mark.parametrize("field, value", [("status", "done"), ("compliance_profile", "eu")])
    def test_vocabularies_are_checked(
        self, session: Session, factory: Factory, field: str, value: str
    ) -> None:
        with pytest.raises(IntegrityError):
            factory.campaign(**{field: value})

    def test_schedule_json_round_trips(self, session: Session, factory: Factory) -> None:
        schedule = {
            "days": [0, 1, 2, 3, 4],
            "start": "08:00",
            "end": "21:00",
            "holidays": ["2026-12-25"],
        }
        campaign = factory.campaign(schedule=schedule)
        assert reload(session, Campaign, campaign.id).schedule == schedule

    def test_deleting_a_campaign_removes_its_links_only(
        self, session: Session, factory: Factory
    ) -> None:
        dial_list, agent = factory.dial_list(), factory.agent()
        campaign = factory.campaign(dial_lists=[dial_list], agents=[agent])
        session.delete(campaign)
        session.flush()
        assert session.scalar(select(func.count()).select_from(campaign_dial_lists)) == 0
        assert session.scalar(select(func.count()).select_from(campaign_agents)) == 0
        assert session.get(DialList, dial_list.id) is not None
        assert session.get(Agent, agent.id) is not None

    def test_delete_refused_once_it_has_calls(self, session: Session, factory: Factory) -> None:
        campaign = factory.campaign()
        factory.call(campaign, None)
        session.expunge_all()
        session.delete(session.get(Campaign, campaign.id))
        with pytest.raises(IntegrityError):
            session.flush()


class TestContacts:
    def test_contact_with_numbers_in_order(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        contact = factory.contact(
            dial_list,
            numbers=["+15551230001", "+447700900123"],
            name="Zoë Ångström",
            variables={"account": "A-17", "note": "名前"},
            timezone="America/Chicago",
            external_ref="crm-1",
        )
        again = reload(session, Contact, contact.id, selectinload(Contact.numbers))
        assert again.id.startswith("cont_")
        assert [n.number for n in again.numbers] == ["+15551230001", "+447700900123"]
        assert [n.position for n in again.numbers] == [0, 1]
        assert all(n.id.startswith("num_") for n in again.numbers)
        assert again.variables == {"account": "A-17", "note": "名前"}
        assert (again.name, again.timezone, again.external_ref) == (
            "Zoë Ångström",
            "America/Chicago",
            "crm-1",
        )
        assert (again.status, again.attempts, again.next_number_index) == ("pending", 0, 0)
        assert again.active_call_id is None

    def test_external_ref_unique_within_a_list_only(
        self, session: Session, factory: Factory
    ) -> None:
        first, second = factory.dial_list(), factory.dial_list()
        factory.contact(first, external_ref="x")
        factory.contact(second, external_ref="x")
        factory.contact(first)  # NULL refs repeat freely
        factory.contact(first)
        with pytest.raises(IntegrityError):
            factory.contact(first, external_ref="x")

    def test_number_positions_unique_per_contact(self, session: Session, factory: Factory) -> None:
        contact = factory.contact(factory.dial_list())
        session.add(ContactNumber(contact_id=contact.id, position=0, number="+15550000000"))
        with pytest.raises(IntegrityError):
            session.flush()

    def test_status_is_checked(self, session: Session, factory: Factory) -> None:
        with pytest.raises(IntegrityError):
            factory.contact(factory.dial_list(), status="maybe")

    def test_deleting_a_list_cascades_to_contacts_and_numbers(
        self, session: Session, factory: Factory
    ) -> None:
        dial_list = factory.dial_list()
        kept = factory.contact(factory.dial_list())
        for _ in range(3):
            factory.contact(dial_list, numbers=["+15551230001", "+15551230002"])
        session.expunge_all()
        session.delete(session.get(DialList, dial_list.id))
        session.flush()
        assert session.scalars(select(Contact.id)).all() == [kept.id]
        assert session.scalar(select(func.count()).select_from(ContactNumber)) == 1

    def test_deleting_a_contact_keeps_its_calls(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        contact = factory.contact(dial_list)
        call = factory.call(campaign, contact, ended_at=datetime.now(UTC), outcome="BUSY")
        session.expunge_all()
        session.delete(session.get(Contact, contact.id))
        session.flush()
        again = reload(session, Call, call.id)
        assert again.contact_id is None
        assert again.number == "+15551230001"


class TestAgent:
    def test_crud(self, session: Session, factory: Factory) -> None:
        agent = factory.agent(name="Ann", interface="PJSIP/101")
        assert agent.id.startswith("agent_")
        agent.state, agent.pause_reason = "paused", "lunch"
        agent.state_since = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        session.flush()
        again = reload(session, Agent, agent.id)
        assert (again.state, again.pause_reason) == ("paused", "lunch")
        assert again.state_since == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        session.delete(again)
        session.flush()
        assert session.get(Agent, agent.id) is None

    @pytest.mark.parametrize("field", ["name", "interface"])
    def test_unique(self, session: Session, factory: Factory, field: str) -> None:
        factory.agent(**{field: "dup"})
        with pytest.raises(IntegrityError):
            factory.agent(**{field: "dup"})

    def test_state_is_checked(self, session: Session, factory: Factory) -> None:
        with pytest.raises(IntegrityError):
            factory.agent(state="asleep")


class TestCall:
    def test_full_record_round_trips(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        contact = factory.contact(dial_list)
        agent = factory.agent()
        t0 = datetime(2026, 6, 1, 14, 0, 0, 123456, tzinfo=UTC)
        no_answer = [{"interface": "PJSIP/102", "ring_ms": 15000, "at": "2026-06-01T14:00:20Z"}]
        call = factory.call(
            campaign,
            contact,
            contact_number_id=contact.numbers[0].id,
            attempt=2,
            action_id="olive-1",
            uniqueid="call_X",
            linkedid="call_X",
            channel="PJSIP/trunk-00000001",
            state="ended",
            outcome="CONNECTED",
            dial_status="ANSWER",
            hangup_cause=16,
            hangup_cause_txt="Normal Clearing",
            originate_reason=4,
            originated_at=t0,
            answered_at=t0 + timedelta(seconds=8),
            queued_at=t0 + timedelta(seconds=8.1),
            agent_connected_at=t0 + timedelta(seconds=9),
            ended_at=t0 + timedelta(seconds=70),
            agent_id=agent.id,
            agent_interface=agent.interface,
            customer_wait_s=0.9,
            talk_s=61.0,
            ring_s=8.0,
            agents_no_answer=no_answer,
            plan_snapshot={
                "dial_timeout_s": 30,
                "retry_rules": {"BUSY": {"max_attempts": 3, "delay_s": 300}},
            },
            detail="reconciled after restart",
        )
        again = reload(session, Call, call.id)
        assert again.id.startswith("call_")
        assert again.answered_at == t0 + timedelta(seconds=8)
        assert again.ended_at is not None and again.ended_at.tzinfo == UTC
        assert again.agents_no_answer == no_answer
        assert again.plan_snapshot["retry_rules"]["BUSY"]["delay_s"] == 300
        assert (again.outcome, again.hangup_cause, again.talk_s) == ("CONNECTED", 16, 61.0)
        assert again.disposition is None

    def test_defaults(self, session: Session, factory: Factory) -> None:
        call = factory.call(factory.campaign(), None)
        again = reload(session, Call, call.id)
        assert (again.state, again.attempt, again.server, again.outcome) == (
            "originating",
            1,
            "default",
            None,
        )
        assert again.agents_no_answer == [] and again.plan_snapshot == {}
        assert again.originated_at.tzinfo == UTC

    @pytest.mark.parametrize(
        "field, value",
        [("state", "dialing"), ("outcome", "SUCCESS"), ("abandon_reason", "bored"), ("attempt", 0)],
    )
    def test_vocabularies_are_checked(
        self, session: Session, factory: Factory, field: str, value: object
    ) -> None:
        with pytest.raises(IntegrityError):
            factory.call(factory.campaign(), None, **{field: value})

    def test_deleting_an_agent_keeps_the_call_and_its_interface(
        self, session: Session, factory: Factory
    ) -> None:
        agent = factory.agent(interface="PJSIP/150")
        call = factory.call(
            factory.campaign(), None, agent_id=agent.id, agent_interface="PJSIP/150"
        )
        session.expunge_all()
        session.delete(session.get(Agent, agent.id))
        session.flush()
        again = reload(session, Call, call.id)
        assert (again.agent_id, again.agent_interface) == (None, "PJSIP/150")


class TestTimes:
    def test_other_zones_are_stored_as_the_same_instant_in_utc(
        self, session: Session, factory: Factory
    ) -> None:
        india = timezone(timedelta(hours=5, minutes=30))
        local = datetime(2026, 3, 29, 1, 30, 15, 250000, tzinfo=india)
        agent = factory.agent(state_since=local)
        again = reload(session, Agent, agent.id)
        assert again.state_since == local
        assert again.state_since is not None and again.state_since.tzinfo == UTC
        assert again.state_since.hour == 20  # 01:30 +05:30 is 20:00 UTC the day before

    def test_naive_datetimes_are_refused(self, session: Session, factory: Factory) -> None:
        with pytest.raises(StatementError, match="naive datetime"):
            factory.agent(state_since=datetime(2026, 1, 1, 12, 0))

    def test_comparisons_use_the_instant(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        earlier = factory.contact(
            dial_list, next_attempt_at=datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
        )
        factory.contact(dial_list, next_attempt_at=datetime(2026, 1, 1, 13, 0, tzinfo=UTC))
        # 12:30 in UTC+1 is 11:30 UTC: only the 11:00 contact is due.
        cutoff = datetime(2026, 1, 1, 12, 30, tzinfo=timezone(timedelta(hours=1)))
        due = session.scalars(select(Contact.id).where(Contact.next_attempt_at <= cutoff)).all()
        assert due == [earlier.id]


class TestRecordsOfCompliance:
    def test_dnc_global_numbers_unique_on_both_databases(
        self, session: Session, factory: Factory
    ) -> None:
        session.add(DncNumber(number="+15551234567"))
        session.flush()
        session.add(DncNumber(number="+15551234567"))
        with pytest.raises(IntegrityError):
            session.flush()

    def test_dnc_same_number_per_campaign_and_global(
        self, session: Session, factory: Factory
    ) -> None:
        one, two = factory.campaign(), factory.campaign()
        session.add_all(
            [
                DncNumber(number="+15551234567"),
                DncNumber(number="+15551234567", campaign_id=one.id),
                DncNumber(number="+15551234567", campaign_id=two.id),
            ]
        )
        session.flush()
        session.add(DncNumber(number="+15551234567", campaign_id=one.id))
        with pytest.raises(IntegrityError):
            session.flush()

    def test_disposition_code_crud(self, session: Session) -> None:
        session.add(DispositionCode(code="sale", label="Sale", final=True))
        session.flush()
        again = reload(session, DispositionCode, "sale")
        assert (again.final, again.retry, again.add_to_dnc, again.callback) == (
            True,
            False,
            False,
            False,
        )

    def test_callback_crud_and_cascade(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        contact = factory.contact(dial_list)
        due = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
        callback = Callback(
            contact_id=contact.id, campaign_id=campaign.id, due_at=due, note="after 9"
        )
        session.add(callback)
        session.flush()
        again = reload(session, Callback, callback.id)
        assert callback.id.startswith("cb_")
        assert (again.status, again.due_at, again.agent_id) == ("scheduled", due, None)
        session.delete(session.get(Contact, contact.id))
        session.flush()
        assert session.scalars(select(Callback.id)).all() == []
