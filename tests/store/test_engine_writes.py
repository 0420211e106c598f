"""A tick's writes in a few statements keep the per-row rules: a held contact is not won,
a release only frees a contact its ending call still holds. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from olive.compliance import counts_as_attempt
from olive.store import (
    Call,
    Contact,
    ContactNumber,
    NewCall,
    Release,
    claim_and_insert_calls,
    claim_contact,
    finish_facts,
    release_contacts,
    update_calls,
)

from .conftest import Factory

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def new_call(campaign_id: str, contact: Contact, call_id: str) -> NewCall:
    number = contact.numbers[0]
    return NewCall(call_id, campaign_id, contact.id, number.id, number.number, 1, "default", {"k": 1})


def numbers_of(session: Session, contact_id: str) -> list[ContactNumber]:
    return list(session.scalars(select(ContactNumber).where(ContactNumber.contact_id == contact_id).order_by(ContactNumber.position)))


class TestClaimAndInsert:
    def test_each_call_gets_its_own_campaigns_plan(self, session: Session, factory: Factory) -> None:
        # On PostgreSQL a tick's plans go once each, and each call points at its own.
        dial_list = factory.dial_list()
        first = factory.campaign(dial_lists=[dial_list])
        second = factory.campaign(dial_lists=[dial_list])
        contacts = [factory.contact(dial_list, numbers=(f"+1555124000{i}",)) for i in range(4)]
        session.flush()
        plans = {first.id: {"dial_mode": "power", "note": 'a "quoted" plan'}, second.id: {"dial_mode": "preview"}}
        calls = [
            NewCall(f"call_{i}", campaign_id, c.id, c.numbers[0].id, c.numbers[0].number, 1, "default", plans[campaign_id])
            for i, (c, campaign_id) in enumerate(zip(contacts, [first.id, second.id, second.id, first.id], strict=True))
        ]
        session.commit()

        assert claim_and_insert_calls(session, calls, NOW) == {f"call_{i}" for i in range(4)}
        session.commit()

        rows = {c.id: c for c in session.scalars(select(Call))}
        for call in calls:
            assert rows[call.call_id].campaign_id == call.campaign_id
            assert rows[call.call_id].plan_snapshot == plans[call.campaign_id]

    def test_every_free_contact_is_won_and_a_held_one_is_not(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        free = [factory.contact(dial_list, numbers=(f"+1555123000{i}",)) for i in range(3)]
        held = factory.contact(dial_list, numbers=("+15551239999",))
        session.flush()
        calls = [new_call(campaign.id, c, f"call_{i}") for i, c in enumerate([*free, held])]
        calls.append(new_call(campaign.id, free[0], "call_twice"))  # the same contact again
        session.commit()
        assert claim_contact(session, held.id, "call_OTHER")

        written = claim_and_insert_calls(session, calls, NOW)
        session.commit()

        assert written == {"call_0", "call_1", "call_2"}
        rows = {c.id: c for c in session.scalars(select(Call))}
        assert set(rows) == written
        assert rows["call_0"].state == "originating" and rows["call_0"].plan_snapshot == {"k": 1}
        assert rows["call_0"].uniqueid == "call_0" and rows["call_0"].attempt == 1
        for i, contact in enumerate(free):
            session.refresh(contact)
            assert (contact.active_call_id, contact.status, contact.attempts) == (f"call_{i}", "dialing", 1)
            [number] = numbers_of(session, contact.id)
            assert number.attempts == 1 and number.last_attempt_at == NOW
        session.refresh(held)
        assert (held.active_call_id, held.attempts) == ("call_OTHER", 0)


class TestRelease:
    def test_only_the_holding_call_releases_and_facts_count_outcomes(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        mine = factory.contact(dial_list, numbers=("+15551230001", "+15551230002"))
        theirs = factory.contact(dial_list, numbers=("+15551230003",))
        session.flush()
        first, second = (n.id for n in mine.numbers)
        dial = new_call(campaign.id, mine, "call_A")
        session.commit()
        assert claim_and_insert_calls(session, [dial], NOW) == {"call_A"}
        assert claim_contact(session, theirs.id, "call_B")
        call = session.get(Call, "call_A")
        assert call is not None
        call.outcome, call.ended_at, call.state = "BUSY", NOW, "ended"
        session.flush()

        facts = finish_facts(session, [mine.id, theirs.id, "cont_missing"], counts_as_attempt())
        assert set(facts) == {mine.id, theirs.id}
        fact = facts[mine.id]
        assert [position for _, position in fact.numbers] == [0, 1]
        assert [n for n, _ in fact.numbers] == [first, second]
        assert fact.counts[first] == {"BUSY": 1} and not fact.counts[second]

        later = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
        release_contacts(
            session,
            [
                Release(mine.id, "call_A", "pending", later, next_number_index=1, last_outcome="BUSY", number_id=first),
                Release(theirs.id, "call_NOT_THEIRS", "done", None, last_outcome="ANSWERED"),
            ],
            NOW,
        )
        session.commit()
        session.refresh(mine)
        assert (mine.active_call_id, mine.status, mine.next_number_index, mine.last_outcome) == (None, "pending", 1, "BUSY")
        assert mine.next_attempt_at == later and mine.attempts == 1
        assert numbers_of(session, mine.id)[0].last_outcome == "BUSY"
        session.refresh(theirs)
        assert (theirs.active_call_id, theirs.status, theirs.last_outcome) == ("call_B", "dialing", None)

    def test_an_attempt_not_placed_is_given_back(self, session: Session, factory: Factory) -> None:
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        contact = factory.contact(dial_list)
        session.flush()
        dial = new_call(campaign.id, contact, "call_A")
        session.commit()
        assert claim_and_insert_calls(session, [dial], NOW)
        release_contacts(
            session, [Release(contact.id, "call_A", "pending", NOW, number_id=dial.contact_number_id, give_back_attempt=True)], NOW
        )
        session.commit()
        session.refresh(contact)
        assert (contact.attempts, contact.status, contact.active_call_id) == (0, "pending", None)
        [number] = numbers_of(session, contact.id)
        assert number.attempts == 0 and number.last_outcome is None

    def test_two_releases_of_one_number_both_apply_in_order(self, session: Session, factory: Factory) -> None:
        """One statement writes a row once (PostgreSQL's UPDATE ... FROM): a number that comes
        twice in a tick's releases is written again, after, as an executemany would."""
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        contact = factory.contact(dial_list)
        session.flush()
        first, again = new_call(campaign.id, contact, "call_A"), new_call(campaign.id, contact, "call_B")
        session.commit()
        assert claim_and_insert_calls(session, [first], NOW)
        release_contacts(session, [Release(contact.id, "call_A", "pending", NOW)], NOW)
        ended = session.get(Call, "call_A")
        assert ended is not None
        ended.state, ended.ended_at = "ended", NOW
        session.flush()
        assert claim_and_insert_calls(session, [again], NOW)
        number_id = first.contact_number_id
        release_contacts(
            session,
            [
                Release(contact.id, "call_A", "done", None, last_outcome="BUSY", number_id=number_id, give_back_attempt=True),
                Release(contact.id, "call_B", "pending", NOW, last_outcome="NOANSWER", number_id=number_id, give_back_attempt=True),
            ],
            NOW,
        )
        session.commit()
        session.refresh(contact)
        assert (contact.active_call_id, contact.status, contact.attempts) == (None, "pending", 1)  # only call_B held it
        [number] = numbers_of(session, contact.id)
        assert (number.attempts, number.last_outcome) == (0, "NOANSWER")  # both given back, the last outcome kept


class TestWriteById:
    def test_a_statement_sent_again_writes_its_new_rows_only(self, session: Session, factory: Factory) -> None:
        # update_calls' PostgreSQL statement is built once per set of columns and reused:
        # the second tick's arrays, not the first's, reach the rows.
        dial_list = factory.dial_list()
        campaign = factory.campaign(dial_lists=[dial_list])
        contacts = [factory.contact(dial_list, numbers=(f"+1555125000{i}",)) for i in range(3)]
        session.flush()
        calls = [new_call(campaign.id, c, f"call_{i}") for i, c in enumerate(contacts)]
        session.commit()
        claim_and_insert_calls(session, calls, NOW)
        session.commit()

        update_calls(session, [{"id": "call_0", "state": "ringing", "dial_status": "RINGING"},
                               {"id": "call_1", "state": "ringing", "dial_status": "RINGING"}])
        session.commit()
        update_calls(session, [{"id": "call_2", "state": "answered", "dial_status": "ANSWER"},
                               {"id": "call_0", "state": "ended", "dial_status": "ANSWER"},
                               {"id": "call_0", "state": "ended", "dial_status": "CANCEL"}])  # again: applied in order
        session.commit()

        rows = {c.id: (c.state, c.dial_status) for c in session.scalars(select(Call))}
        assert rows == {"call_0": ("ended", "CANCEL"), "call_1": ("ringing", "RINGING"), "call_2": ("answered", "ANSWER")}
