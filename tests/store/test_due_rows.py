"""The dialing tick's plain rows: what ``due_rows`` picks, and the refusals ``put_off_contacts`` writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from olive.store import (
    Contact,
    DueContact,
    PutOff,
    callback_rows,
    contacts_due,
    due_rows,
    numbers_in_flight,
    put_off_contacts,
)

from .conftest import Factory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class TestDueRows:
    def test_the_same_contacts_in_the_same_order_as_contacts_due(
        self, session: Session, factory: Factory
    ) -> None:
        lists = [factory.dial_list(), factory.dial_list()]
        campaign = factory.campaign(dial_lists=lists)
        for i in range(12):
            at = (
                None
                if i % 3 == 0
                else NOW - timedelta(minutes=i)
                if i % 3 == 1
                else NOW + timedelta(minutes=i)
            )
            factory.contact(
                lists[i % 2],
                [f"+1555000{i:04d}"],
                next_attempt_at=at,
                attempts=0 if at is None else 1,
            )
        factory.contact(
            lists[0], [], timezone="Europe/London"
        )  # no number: still picked, as before
        for limit in (3, 5, 50):
            rows = due_rows(session, campaign.id, NOW, limit)
            assert [r.id for r in rows] == [
                c.id for c in contacts_due(session, campaign.id, NOW, limit)
            ]
            assert all(isinstance(r, DueContact) for r in rows)

    def test_a_row_carries_its_numbers_in_order_and_what_is_in_flight(
        self, session: Session, factory: Factory
    ) -> None:
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        contact = factory.contact(
            dial_list,
            ["+15550000001", "+15550000002", "+15550000003"],
            timezone="America/Chicago",
            variables={"tier": "gold"},
            next_number_index=4,
        )
        factory.call(campaign, None, number="+15550000002")  # open: no ended_at
        factory.call(
            campaign, None, number="+15550000003", ended_at=NOW, outcome="BUSY", state="ended"
        )
        (row,) = due_rows(session, campaign.id, NOW, 10)
        assert (row.id, row.timezone, dict(row.variables), row.attempts, row.next_number_index) == (
            contact.id,
            "America/Chicago",
            {"tier": "gold"},
            0,
            4,
        )
        assert [(n.number, n.position, n.in_flight) for n in row.numbers] == [
            ("+15550000001", 0, False),
            ("+15550000002", 1, True),
            ("+15550000003", 2, False),
        ]
        assert row.to_dial is not None and row.to_dial.number == "+15550000002"  # 4 % 3
        assert numbers_in_flight(session, ["+15550000001", "+15550000002", "+15550000003"]) == {
            "+15550000002"
        }
        with pytest.raises(AttributeError):
            row.attempts = 3  # type: ignore[misc]

    def test_callback_rows_come_earliest_callback_first(
        self, session: Session, factory: Factory
    ) -> None:
        from olive.compliance import schedule_callback

        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        late, early = factory.contact(dial_list), factory.contact(dial_list, ["+15550000009"])
        schedule_callback(session, late.id, campaign.id, NOW.timestamp() - 60)
        schedule_callback(session, early.id, campaign.id, NOW.timestamp() - 600)
        rows = callback_rows(session, campaign.id, NOW, 10)
        assert [r.id for r in rows] == [early.id, late.id]
        assert rows[0].numbers[0].number == "+15550000009"


class TestPutOff:
    def test_refusals_are_written_and_a_claimed_contact_is_left_alone(
        self, session: Session, factory: Factory
    ) -> None:
        dial_list = factory.dial_list()
        factory.campaign(dial_lists=[dial_list])
        later, blocked, claimed = (
            factory.contact(dial_list),
            factory.contact(dial_list),
            factory.contact(dial_list),
        )
        claimed.active_call_id, claimed.status = "call_x", "dialing"
        session.flush()
        at = NOW + timedelta(hours=1)
        put_off_contacts(
            session,
            [
                PutOff(later.id, None, at),
                PutOff(blocked.id, "dnc", None),
                PutOff(claimed.id, None, at),
                PutOff("cont_none"),
            ],
        )
        rows = {c.id: (c.status, c.next_attempt_at) for c in session.scalars(select(Contact))}
        assert rows == {
            later.id: ("pending", at),
            blocked.id: ("dnc", None),
            claimed.id: ("dialing", None),
        }
        assert (later.status, later.next_attempt_at) == ("pending", at)  # the loaded object follows
