"""One number is never dialed twice at once: not by two contacts of one tick, nor while a call to it is open.

Two contacts may share a phone number (a household, a switchboard, a list
imported twice). Dialing both at once rings the person twice; with one line
the second gets BUSY and burns an attempt. The pick passes over a contact
whose number next in turn already has an open call, in any campaign, and
takes only the first of several contacts with one number in a tick.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from olive.compliance import AllowAll, ComplianceGuard
from olive.engine._dialing import place_dials
from olive.engine._due import contacts_to_dial
from olive.store import Call

from .conftest import NOON_NY, NY_NUMBER, NY_NUMBER_2, Builder


def _dial(
    session: Session,
    build: Builder,
    campaign_id: str,
    wanted: int = 10,
    guard: object | None = None,
) -> list[str]:
    campaign = build.load(campaign_id)
    dials, _ = place_dials(guard or AllowAll(), session, campaign, wanted, "test", NOON_NY)  # type: ignore[arg-type]
    session.flush()
    return [intent.contact_id for _, intent, _ in dials]


class TestSameNumber:
    def test_two_contacts_with_one_number_are_not_dialed_in_one_tick(
        self, session: Session, build: Builder
    ) -> None:
        campaign = build.campaign()
        first, second = build.contact(campaign, [NY_NUMBER]), build.contact(campaign, [NY_NUMBER])
        other = build.contact(campaign, [NY_NUMBER_2])
        dialed = _dial(session, build, campaign.id)
        assert sorted(dialed) == sorted([first.id, other.id])
        numbers = session.scalars(select(Call.number).where(Call.ended_at.is_(None))).all()
        assert sorted(numbers) == [NY_NUMBER, NY_NUMBER_2]
        assert (
            build.contact_row(second.id).status == "pending"
        )  # still due: dialed once that call is over

    def test_a_number_on_a_call_in_another_campaign_waits(
        self, session: Session, build: Builder
    ) -> None:
        campaign, other = build.campaign(), build.campaign()
        build.call(other, None, NY_NUMBER, state="ringing", ended_at=None)
        waiting = build.contact(campaign, [NY_NUMBER])
        free = build.contact(campaign, [NY_NUMBER_2])
        assert _dial(session, build, campaign.id, guard=ComplianceGuard()) == [free.id]
        assert build.contact_row(waiting.id).status == "pending"
        for call in session.scalars(select(Call).where(Call.number == NY_NUMBER)):
            call.ended_at, call.state, call.outcome = call.originated_at, "ended", "BUSY"
        session.flush()
        assert _dial(session, build, campaign.id, guard=ComplianceGuard()) == [waiting.id]

    def test_the_preview_pick_passes_over_a_number_on_a_call(
        self, session: Session, build: Builder
    ) -> None:
        campaign, other = build.campaign(), build.campaign()
        build.call(other, None, NY_NUMBER, state="ringing", ended_at=None)
        build.contact(campaign, [NY_NUMBER])
        free = build.contact(campaign, [NY_NUMBER_2])
        assert [c.id for c in contacts_to_dial(session, campaign.id, NOON_NY, 10)] == [free.id]

    def test_only_the_number_next_in_turn_counts(self, session: Session, build: Builder) -> None:
        campaign, other = build.campaign(), build.campaign()
        build.call(other, None, NY_NUMBER_2, state="ringing", ended_at=None)
        contact = build.contact(campaign, [NY_NUMBER, NY_NUMBER_2])  # dials NY_NUMBER first
        assert _dial(session, build, campaign.id) == [contact.id]
        assert (
            session.scalars(select(Call.number).where(Call.contact_id == contact.id)).one()
            == NY_NUMBER
        )
