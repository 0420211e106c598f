"""The engine's queries: due contacts, open calls, outcome counts, bulk import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from olive.store import (
    Campaign,
    Contact,
    ContactNumber,
    ContactRow,
    DialList,
    claim_contact,
    contact_status_counts,
    contacts_due,
    import_contacts,
    open_calls,
    outcome_counts,
    to_epoch,
)

from .conftest import Factory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class TestContactsDue:
    @pytest.fixture
    def campaign(self, factory: Factory) -> tuple[Campaign, DialList, DialList]:
        first, second = factory.dial_list(), factory.dial_list()
        return factory.campaign(dial_lists=[first, second]), first, second

    def test_selects_and_orders_due_contacts(
        self, session: Session, factory: Factory, campaign: tuple[Campaign, DialList, DialList]
    ) -> None:
        camp, first, second = campaign
        late = factory.contact(first, next_attempt_at=NOW - timedelta(minutes=1))
        early = factory.contact(second, next_attempt_at=NOW - timedelta(hours=1))
        exactly_now = factory.contact(first, next_attempt_at=NOW)
        fresh_a = factory.contact(first)
        fresh_b = factory.contact(second)
        factory.contact(first, next_attempt_at=NOW + timedelta(seconds=1))  # not yet
        for status in ("dialing", "done", "exhausted", "dnc"):
            factory.contact(first, status=status)
        claimed = factory.contact(first)
        assert claim_contact(session, claimed.id, "call_X")
        claimed_but_pending = factory.contact(second)
        assert claim_contact(session, claimed_but_pending.id, "call_Y")
        session.get(Contact, claimed_but_pending.id).status = "pending"  # type: ignore[union-attr]
        factory.contact(factory.dial_list())  # a list the campaign does not use
        session.flush()

        due = contacts_due(session, camp.id, NOW, limit=100)
        never_tried = sorted([fresh_a.id, fresh_b.id])
        assert [c.id for c in due] == [*never_tried, early.id, late.id, exactly_now.id]

    def test_limit_and_epoch_seconds(
        self, session: Session, factory: Factory, campaign: tuple[Campaign, DialList, DialList]
    ) -> None:
        camp, first, _ = campaign
        ids = sorted(factory.contact(first).id for _ in range(5))
        due = contacts_due(session, camp.id, to_epoch(NOW), limit=3)
        assert [c.id for c in due] == ids[:3]

    def test_numbers_come_loaded_in_order(
        self, session: Session, factory: Factory, campaign: tuple[Campaign, DialList, DialList]
    ) -> None:
        camp, first, _ = campaign
        factory.contact(first, numbers=["+15550000002", "+15550000001", "+15550000003"])
        session.expunge_all()
        (contact,) = contacts_due(session, camp.id, NOW, limit=10)
        assert [n.number for n in contact.numbers] == [
            "+15550000002",
            "+15550000001",
            "+15550000003",
        ]

    def test_other_campaigns_lists_are_not_due(
        self, session: Session, factory: Factory, campaign: tuple[Campaign, DialList, DialList]
    ) -> None:
        camp, _, _ = campaign
        other_list = factory.dial_list()
        factory.campaign(dial_lists=[other_list])
        factory.contact(other_list)
        assert contacts_due(session, camp.id, NOW, limit=10) == []


class TestContactStatusCounts:
    def test_counts_every_list_of_the_campaign_only(self, session: Session, factory: Factory) -> None:
        first, second, other = factory.dial_list(), factory.dial_list(), factory.dial_list()
        camp = factory.campaign(dial_lists=[first, second])
        for dial_list, status in [(first, "pending"), (first, "done"), (second, "pending"), (second, "dnc"), (other, "pending")]:
            factory.contact(dial_list, status=status)
        assert contact_status_counts(session, camp.id) == {"pending": 2, "done": 1, "dnc": 1}
        assert contact_status_counts(session, factory.campaign().id) == {}


class TestOpenCalls:
    def test_open_calls_by_server_oldest_first(self, session: Session, factory: Factory) -> None:
        camp = factory.campaign()
        newer = factory.call(camp, None, originated_at=NOW, server="pbx1")
        older = factory.call(camp, None, originated_at=NOW - timedelta(seconds=5), server="pbx1")
        other = factory.call(camp, None, originated_at=NOW, server="pbx2")
        factory.call(camp, None, originated_at=NOW, server="pbx1", ended_at=NOW, outcome="BUSY")
        assert [c.id for c in open_calls(session, "pbx1")] == [older.id, newer.id]
        assert {c.id for c in open_calls(session)} == {older.id, newer.id, other.id}
        assert open_calls(session, "pbx9") == []


class TestOutcomeCounts:
    def test_counts_ended_calls_of_one_campaign(self, session: Session, factory: Factory) -> None:
        camp, other = factory.campaign(), factory.campaign()
        for outcome, n in (("CONNECTED", 3), ("BUSY", 2), ("ABANDONED", 1)):
            for _ in range(n):
                factory.call(camp, None, outcome=outcome, ended_at=NOW)
        factory.call(camp, None)  # still open: no outcome yet
        factory.call(other, None, outcome="BUSY", ended_at=NOW)
        assert outcome_counts(session, camp.id) == {"CONNECTED": 3, "BUSY": 2, "ABANDONED": 1}
        assert outcome_counts(session, "camp_none") == {}

    def test_since_filters_by_origination(self, session: Session, factory: Factory) -> None:
        camp = factory.campaign()
        factory.call(
            camp, None, outcome="ABANDONED", originated_at=NOW - timedelta(days=2), ended_at=NOW
        )
        factory.call(
            camp, None, outcome="ABANDONED", originated_at=NOW - timedelta(hours=1), ended_at=NOW
        )
        since = NOW - timedelta(hours=24)
        assert outcome_counts(session, camp.id, since=since) == {"ABANDONED": 1}
        assert outcome_counts(session, camp.id, since=to_epoch(since)) == {"ABANDONED": 1}


class TestImportContacts:
    def test_bulk_import(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        rows = [
            ContactRow(
                numbers=[f"+1555{i:07d}", f"+4420{i:08d}"],
                external_ref=f"ref-{i}",
                name=f"Person {i}",
                variables={"i": str(i)},
                timezone="Europe/London" if i % 2 else None,
            )
            for i in range(250)
        ]
        ids = import_contacts(session, dial_list.id, rows, now=NOW, chunk_size=100)
        assert len(ids) == len(set(ids)) == 250
        assert all(i.startswith("cont_") for i in ids)
        session.commit()
        session.expunge_all()
        assert session.scalar(select(func.count()).select_from(Contact)) == 250
        assert session.scalar(select(func.count()).select_from(ContactNumber)) == 500
        contact = session.get(Contact, ids[7])
        assert contact is not None
        assert (contact.external_ref, contact.name, contact.variables) == (
            "ref-7",
            "Person 7",
            {"i": "7"},
        )
        assert (contact.timezone, contact.status, contact.created_at) == (
            "Europe/London",
            "pending",
            NOW,
        )
        numbers = session.scalars(
            select(ContactNumber)
            .where(ContactNumber.contact_id == ids[7])
            .order_by(ContactNumber.position)
        ).all()
        assert [(n.position, n.number) for n in numbers] == [
            (0, "+15550000007"),
            (1, "+442000000007"),
        ]

    def test_a_duplicate_reference_refuses_the_whole_import(
        self, session_factory: sessionmaker[Session], factory: Factory, session: Session
    ) -> None:
        dial_list = factory.dial_list()
        session.commit()
        rows = [ContactRow(numbers=["+15550000001"], external_ref=r) for r in ("a", "b", "a")]
        with session_factory() as other:
            with pytest.raises(IntegrityError):
                import_contacts(other, dial_list.id, rows)
            other.rollback()
            assert other.scalar(select(func.count()).select_from(Contact)) == 0

    def test_a_row_without_numbers_is_refused(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        with pytest.raises(ValueError, match="row 1"):
            import_contacts(
                session, dial_list.id, [ContactRow(numbers=["+1"]), ContactRow(numbers=[])]
            )
