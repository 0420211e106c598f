"""The no-double-dial guarantee, enforced by the database on both backends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from olive.store import (
    Call,
    Campaign,
    Contact,
    claim_contact,
    release_contact,
    release_stale_claims,
)

from .conftest import Factory


@pytest.fixture
def setup(session: Session, factory: Factory) -> tuple[Campaign, Contact]:
    dial_list = factory.dial_list()
    campaign = factory.campaign(dial_lists=[dial_list])
    contact = factory.contact(dial_list)
    session.commit()
    return campaign, contact


def active_call(session_factory: sessionmaker[Session], contact_id: str) -> str | None:
    with session_factory() as other:
        return other.scalar(select(Contact.active_call_id).where(Contact.id == contact_id))


class TestOpenCallIndex:
    def test_second_open_call_for_a_contact_is_refused(
        self, session: Session, factory: Factory, setup: tuple[Campaign, Contact]
    ) -> None:
        campaign, contact = setup
        factory.call(campaign, contact)
        with pytest.raises(IntegrityError):
            factory.call(campaign, contact)

    def test_refused_even_from_another_session_after_commit(
        self,
        session: Session,
        session_factory: sessionmaker[Session],
        factory: Factory,
        setup: tuple[Campaign, Contact],
    ) -> None:
        campaign, contact = setup
        factory.call(campaign, contact)
        session.commit()
        with session_factory() as other:
            other.add(Call(campaign_id=campaign.id, contact_id=contact.id, number="+15551230001"))
            with pytest.raises(IntegrityError):
                other.flush()

    def test_a_new_call_is_allowed_once_the_last_one_ended(
        self, session: Session, factory: Factory, setup: tuple[Campaign, Contact]
    ) -> None:
        campaign, contact = setup
        first = factory.call(campaign, contact)
        first.ended_at, first.state, first.outcome = datetime.now(UTC), "ended", "BUSY"
        session.flush()
        factory.call(campaign, contact, attempt=2)
        factory.call(campaign, None)  # calls without a contact never collide
        factory.call(campaign, None)
        assert session.scalar(
            select(Call.id).where(Call.contact_id == contact.id, Call.attempt == 2)
        )

    def test_other_contacts_are_independent(
        self, session: Session, factory: Factory, setup: tuple[Campaign, Contact]
    ) -> None:
        campaign, contact = setup
        other = factory.contact(factory.dial_list())
        factory.call(campaign, contact)
        factory.call(campaign, other)


class TestClaimContact:
    def test_first_claim_wins_and_marks_dialing(
        self, session: Session, setup: tuple[Campaign, Contact]
    ) -> None:
        _, contact = setup
        assert claim_contact(session, contact.id, "call_A") is True
        assert (contact.active_call_id, contact.status) == ("call_A", "dialing")

    def test_second_claim_loses_and_changes_nothing(
        self,
        session: Session,
        session_factory: sessionmaker[Session],
        setup: tuple[Campaign, Contact],
    ) -> None:
        _, contact = setup
        assert claim_contact(session, contact.id, "call_A")
        session.commit()
        assert claim_contact(session, contact.id, "call_B") is False
        session.commit()
        assert active_call(session_factory, contact.id) == "call_A"

    def test_unknown_contact_is_not_claimed(self, session: Session) -> None:
        assert claim_contact(session, "cont_missing", "call_A") is False

    def test_release_by_the_owner_frees_the_contact(
        self,
        session: Session,
        session_factory: sessionmaker[Session],
        setup: tuple[Campaign, Contact],
    ) -> None:
        _, contact = setup
        assert claim_contact(session, contact.id, "call_A")
        retry = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
        assert release_contact(
            session, contact.id, "call_A", next_attempt_at=retry, last_outcome="BUSY"
        )
        session.commit()
        with session_factory() as other:
            again = other.get(Contact, contact.id)
            assert again is not None
            assert (again.active_call_id, again.status, again.last_outcome) == (
                None,
                "pending",
                "BUSY",
            )
            assert again.next_attempt_at == retry
        assert claim_contact(session, contact.id, "call_B")

    def test_release_by_another_call_is_refused(
        self,
        session: Session,
        session_factory: sessionmaker[Session],
        setup: tuple[Campaign, Contact],
    ) -> None:
        _, contact = setup
        assert claim_contact(session, contact.id, "call_A")
        assert release_contact(session, contact.id, "call_B", status="done") is False
        session.commit()
        assert active_call(session_factory, contact.id) == "call_A"

    def test_a_stale_identity_map_cannot_fake_a_win(
        self,
        session: Session,
        session_factory: sessionmaker[Session],
        setup: tuple[Campaign, Contact],
    ) -> None:
        _, contact = setup
        loaded = session.get(Contact, contact.id)
        assert loaded is not None and loaded.active_call_id is None  # in memory: free
        with session_factory() as other:
            assert claim_contact(other, contact.id, "call_OTHER")
            other.commit()
        assert claim_contact(session, contact.id, "call_MINE") is False
        session.commit()
        assert active_call(session_factory, contact.id) == "call_OTHER"


class TestConcurrentClaims:
    def test_a_waiting_claimer_loses_once_the_holder_commits(
        self, session_factory: sessionmaker[Session], setup: tuple[Campaign, Contact]
    ) -> None:
        _, contact = setup
        results: dict[str, bool] = {}

        def second() -> None:
            with session_factory() as b:
                results["b"] = claim_contact(b, contact.id, "call_B")
                b.commit()

        with session_factory() as a:
            assert claim_contact(a, contact.id, "call_A")  # holds the row (or SQLite's write lock)
            thread = threading.Thread(target=second)
            thread.start()
            a.commit()
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert results == {"b": False}
        assert active_call(session_factory, contact.id) == "call_A"

    def test_many_racing_claimers_exactly_one_wins(
        self, session_factory: sessionmaker[Session], setup: tuple[Campaign, Contact]
    ) -> None:
        _, contact = setup
        n = 6
        barrier = threading.Barrier(n)
        results: dict[str, bool] = {}
        errors: list[BaseException] = []

        def claimer(call_id: str) -> None:
            try:
                with session_factory() as s:
                    barrier.wait()
                    results[call_id] = claim_contact(s, contact.id, call_id)
                    s.commit()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=claimer, args=(f"call_{i}",)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        winners = [call_id for call_id, won in results.items() if won]
        assert len(results) == n
        assert len(winners) == 1
        assert active_call(session_factory, contact.id) == winners[0]


class TestReleaseStaleClaims:
    def test_releases_claims_without_an_open_call(
        self, session: Session, factory: Factory, setup: tuple[Campaign, Contact]
    ) -> None:
        campaign, contact = setup
        dial_list = factory.dial_list()
        live = factory.contact(dial_list)
        ended = factory.contact(dial_list)
        assert claim_contact(session, contact.id, "call_never_written")
        live_call = factory.call(campaign, live)
        assert claim_contact(session, live.id, live_call.id)
        ended_call = factory.call(campaign, ended, ended_at=datetime.now(UTC), outcome="BUSY")
        assert claim_contact(session, ended.id, ended_call.id)
        session.commit()

        released = release_stale_claims(session)
        session.commit()
        assert sorted(released) == sorted([contact.id, ended.id])
        session.expunge_all()
        states = dict(session.execute(select(Contact.id, Contact.active_call_id)).all())
        assert states == {contact.id: None, ended.id: None, live.id: live_call.id}
