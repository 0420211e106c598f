"""The generic repository base and the per-aggregate repositories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from olive.store import (
    AgentRepository,
    Callback,
    CallbackRepository,
    CallRepository,
    CampaignRepository,
    ContactRepository,
    ContactRow,
    DialList,
    DialListRepository,
    DispositionCode,
    DispositionCodeRepository,
    DncCheck,
    DncRepository,
    NotFound,
    PlanRepository,
)

from .conftest import Factory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class TestGenericBase:
    def test_get_and_get_or_raise(self, session: Session, factory: Factory) -> None:
        repo = DialListRepository(session)
        dial_list = factory.dial_list()
        assert repo.get(dial_list.id) is dial_list
        assert repo.get("list_missing") is None
        with pytest.raises(NotFound) as caught:
            repo.get_or_raise("list_missing")
        assert (caught.value.kind, caught.value.id) == ("dial list", "list_missing")
        assert "list_missing" in str(caught.value)

    def test_add_flushes_and_assigns_an_id(self, session: Session) -> None:
        dial_list = DialListRepository(session).add(DialList(name="a"))
        assert dial_list.id.startswith("list_")
        assert session.scalars(select(DialList.name)).all() == ["a"]

    def test_add_does_not_commit(self, session: Session, session_factory: object) -> None:
        DialListRepository(session).add(DialList(name="uncommitted"))
        session.rollback()
        assert session.scalars(select(DialList.name)).all() == []

    def test_list_filters_orders_and_pages(self, session: Session, factory: Factory) -> None:
        repo = DialListRepository(session)
        made = [
            factory.dial_list(name=f"n{i:02d}", default_region="GB" if i % 2 else "US")
            for i in range(7)
        ]
        gb = sorted(
            (d for d in made if d.default_region == "GB"), key=lambda d: d.name, reverse=True
        )
        first = repo.list(DialList.default_region == "GB", order_by=[DialList.name.desc()], limit=2)
        assert (first.total, first.limit, first.offset, first.has_more) == (3, 2, 0, True)
        assert [d.id for d in first.items] == [d.id for d in gb[:2]]
        last = repo.list(
            DialList.default_region == "GB", order_by=[DialList.name.desc()], limit=2, offset=2
        )
        assert [d.id for d in last.items] == [gb[2].id]
        assert last.has_more is False

    def test_list_defaults_to_primary_key_order(self, session: Session, factory: Factory) -> None:
        ids = sorted(factory.dial_list().id for _ in range(4))
        assert [d.id for d in DialListRepository(session).list().items] == ids

    @pytest.mark.parametrize("limit, offset", [(0, 0), (1001, 0), (10, -1)])
    def test_list_refuses_bad_paging(self, session: Session, limit: int, offset: int) -> None:
        with pytest.raises(ValueError):
            DialListRepository(session).list(limit=limit, offset=offset)

    def test_count_and_delete(self, session: Session, factory: Factory) -> None:
        repo = DialListRepository(session)
        dial_list = factory.dial_list()
        factory.dial_list()
        assert repo.count() == 2
        repo.delete(dial_list)
        assert repo.count() == 1
        assert repo.count(DialList.id == dial_list.id) == 0


class TestAggregates:
    def test_lookups_by_name(self, session: Session, factory: Factory) -> None:
        plan = factory.plan(name="P")
        campaign = factory.campaign(name="C", plan=plan, dial_lists=[factory.dial_list(name="L")])
        agent = factory.agent(name="A", interface="PJSIP/201")
        assert PlanRepository(session).get_by_name("P") is plan
        assert PlanRepository(session).get_by_name("nope") is None
        assert DialListRepository(session).get_by_name("L") is not None
        assert AgentRepository(session).get_by_name("A") is agent
        assert AgentRepository(session).get_by_interface("PJSIP/201") is agent
        session.expunge_all()
        found = CampaignRepository(session).get_by_name("C", with_links=True)
        assert found is not None and found.id == campaign.id
        assert [d.name for d in found.dial_lists] == ["L"]
        assert found.plan.name == "P"

    def test_campaign_with_links_and_status(self, session: Session, factory: Factory) -> None:
        agents = [factory.agent(name="b"), factory.agent(name="a")]
        running = factory.campaign(status="running", agents=agents)
        factory.campaign(status="stopped")
        session.expunge_all()
        repo = CampaignRepository(session)
        assert sorted(a.name for a in repo.get_with_links(running.id).agents) == ["a", "b"]
        with pytest.raises(NotFound):
            repo.get_with_links("camp_missing")
        assert [a.name for a in AgentRepository(session).for_campaign(running.id)] == ["a", "b"]

    def test_plans_in_use(self, session: Session, factory: Factory) -> None:
        plan = factory.plan()
        running = factory.campaign(plan=plan, status="running")
        stopped = factory.campaign(plan=plan)
        repo = PlanRepository(session)
        assert [c.id for c in repo.campaigns_using(plan.id, "running")] == [running.id]
        assert {c.id for c in repo.campaigns_using(plan.id)} == {running.id, stopped.id}

    def test_contact_count(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        for status in ("pending", "pending", "dialing", "done", "dnc"):
            factory.contact(dial_list, status=status)
        assert DialListRepository(session).contact_count(dial_list.id) == 5

    def test_has_contacts_remaining(self, session: Session, factory: Factory) -> None:
        first, second = factory.dial_list(), factory.dial_list()
        campaign = factory.campaign(dial_lists=[first, second])
        repo = CampaignRepository(session)
        assert not repo.has_contacts_remaining(campaign.id)
        factory.contact(first, status="done")
        only = factory.contact(second, status="dialing")
        assert repo.has_contacts_remaining(campaign.id)
        only.status = "exhausted"
        session.flush()
        assert not repo.has_contacts_remaining(campaign.id)
        factory.contact(second)  # pending
        assert repo.has_contacts_remaining(campaign.id)

    def test_contact_repository(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        repo = ContactRepository(session)
        ids = repo.import_rows(
            dial_list.id, [ContactRow(numbers=["+15550000001"], external_ref="r1")]
        )
        assert repo.get_by_external_ref(dial_list.id, "r1") is not None
        session.expunge_all()
        loaded = repo.load(ids[0])
        assert loaded is not None and [n.number for n in loaded.numbers] == ["+15550000001"]

    def test_call_repository(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        contact = factory.contact(dial_list)
        factory.call(campaign, contact, outcome="BUSY", ended_at=NOW, originated_at=NOW)
        live = factory.call(campaign, contact, attempt=2, originated_at=NOW + timedelta(minutes=5))
        repo = CallRepository(session)
        assert [c.id for c in repo.open()] == [live.id]


class TestDnc:
    def test_campaign_entry_beats_global(self, session: Session, factory: Factory) -> None:
        one, two = factory.campaign(), factory.campaign()
        repo = DncRepository(session)
        glob = repo.add_number("+15551112222", source="national list")
        own = repo.add_number("+15551112222", campaign_id=one.id, source="agent")
        assert repo.match("+15551112222", one.id) is own
        assert repo.match("+15551112222", two.id) is glob
        assert repo.match("+15551112222", None) is glob
        assert repo.match("+15559999999", one.id) is None

    def test_add_number_is_idempotent(self, session: Session, factory: Factory) -> None:
        repo = DncRepository(session)
        first = repo.add_number("+15551112222")
        assert repo.add_number("+15551112222", note="again") is first
        assert repo.count() == 1

    def test_check_records_every_lookup(self, session: Session, factory: Factory) -> None:
        campaign = factory.campaign()
        repo = DncRepository(session)
        repo.add_number("+15551112222")
        repo.add_number("+15553334444", campaign_id=campaign.id)
        blocked = repo.check("+15551112222", campaign_id=campaign.id, now=NOW)
        own = repo.check("+15553334444", campaign_id=campaign.id)
        clear = repo.check("+15550000000", campaign_id=campaign.id, call_id="call_1")
        assert (blocked.result, blocked.matched_list, blocked.checked_at) == (
            "blocked",
            "global",
            NOW,
        )
        assert (own.result, own.matched_list) == ("blocked", campaign.id)
        assert (clear.result, clear.matched_list, clear.call_id) == ("clear", None, "call_1")
        assert len(session.scalars(select(DncCheck)).all()) == 3


class TestDispositionsAndCallbacks:
    def test_seed_defaults_once(self, session: Session) -> None:
        repo = DispositionCodeRepository(session)
        session.add(DispositionCode(code="sale", label="Custom sale", final=True))
        added = repo.seed_defaults()
        assert "sale" not in {d.code for d in added}
        assert {"dnc", "callback", "not_interested"} <= {d.code for d in added}
        assert repo.seed_defaults() == []
        dnc = repo.get_or_raise("dnc")
        assert dnc.add_to_dnc and dnc.final
        assert repo.get_or_raise("sale").label == "Custom sale"

    def test_due_callbacks(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        contact = factory.contact(dial_list)

        def callback(due: datetime, status: str = "scheduled", camp: str = campaign.id) -> Callback:
            row = Callback(contact_id=contact.id, campaign_id=camp, due_at=due, status=status)
            session.add(row)
            return row

        callback(NOW - timedelta(minutes=1))  # due, but later than the first
        first = callback(NOW - timedelta(hours=1))
        callback(NOW + timedelta(minutes=1))
        callback(NOW - timedelta(hours=2), status="done")
        callback(NOW - timedelta(hours=2), camp=factory.campaign().id)
        session.flush()
        assert CallbackRepository(session).due_for(campaign.id, [contact.id], NOW) == {contact.id: first}
