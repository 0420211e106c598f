"""Do-not-call, the 2-second rule, the 72-hour lockout, callbacks, dispositions and the abandon cap:
the real engine with the compliance guard, against the simulated Asterisk running the shipped dialplan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from olive.compliance import (
    LOCKOUT_S,
    explain_contact,
    import_dnc,
    parse_dnc_csv,
    schedule_callback,
    set_disposition,
)
from olive.compliance._records import attempt_rows
from olive.store import ContactRow, DncCheck, DncRepository, to_epoch, transaction

from .harness import Rig, answering_agent, deaf_agent, epoch, make_campaign, start_rig

NOON_NY = datetime(2026, 1, 15, 17, 0, tzinfo=UTC).timestamp()  # Thursday: 12:00 New York, 17:00 London
SAFE_HARBOUR = "olive/safe-harbour"


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


@pytest.fixture
async def rig(session_factory: sessionmaker[Session]) -> AsyncIterator[Rig]:
    r = await start_rig(session_factory, NOON_NY)
    yield r
    await r.stop()
    await r.pbx.stop()


def ny(n: int) -> ContactRow:
    return ContactRow(numbers=(f"+1212555{n:04d}",))


def london(n: int) -> ContactRow:
    return ContactRow(numbers=(f"+4420794{n:05d}",))


class TestDoNotCall:
    async def test_a_number_added_while_queued_is_never_dialed(self, rig: Rig, session_factory: sessionmaker[Session]) -> None:
        campaign_id, ids = make_campaign(session_factory, name="dnc", contacts=[ny(i) for i in range(1, 5)], agents=[answering_agent("401")])
        await rig.start()
        await rig.until(lambda: len(rig.calls(campaign_id)) >= 1, within_s=60, what="a first call")
        # Every other contact is queued: due, waiting for the one agent. Add one to the DNC list now.
        first = rig.calls(campaign_id)[0]
        victim = next(i for i in ids if i != first.contact_id)
        number = rig.contact(victim).numbers[0].number
        with transaction(session_factory) as s:
            import_dnc(s, parse_dnc_csv(number)[0], source="test")
        added_at = rig.now()
        await rig.until(lambda: rig.contact(victim).status == "dnc", within_s=300, what="the contact stopped as DNC")
        await rig.until(lambda: all(rig.contact(i).status != "pending" for i in ids), within_s=300, what="every contact dialed or stopped")
        await rig.stop()
        calls = rig.calls(campaign_id)
        assert victim not in {c.contact_id for c in calls}
        assert len(calls) == 3
        with transaction(session_factory) as s:
            checks = list(s.scalars(select(DncCheck).order_by(DncCheck.checked_at)))
        blocked = [c for c in checks if c.result == "blocked"]
        assert [(c.contact_id, c.number, c.matched_list) for c in blocked] == [(victim, number, "global")]
        assert to_epoch(blocked[0].checked_at) >= added_at
        # Every call was checked right before its Originate went out.
        clear = {c.call_id: c for c in checks if c.result == "clear"}
        assert set(clear) == {c.id for c in calls}
        for call in calls:
            assert clear[call.id].checked_at <= call.originated_at


class TestTwoSecondRule:
    async def test_an_answer_no_agent_takes_hears_the_message_at_2_s(self, rig: Rig, session_factory: sessionmaker[Session]) -> None:
        campaign_id, _ = make_campaign(
            session_factory, name="drop", contacts=[ny(1)], agents=[deaf_agent("501")], customers="cc-wait",
            drop_action="message", drop_message=SAFE_HARBOUR,
        )
        await rig.start()
        await rig.until(lambda: any(c.outcome for c in rig.calls(campaign_id)), within_s=120, what="the call ended")
        [call] = rig.calls(campaign_id)
        assert (call.outcome, call.abandon_reason, call.drop_message_played) == ("ABANDONED", "timeout", True)
        assert call.customer_wait_s == 2.0  # on the manual clock: the connect limit to the millisecond
        # What Asterisk did, in its own (logical) time: the shipped dialplan dropped the caller
        # 2 s after it joined the queue, then played the named recording.
        [originate] = rig.pbx.actions_named("Originate")
        variables = dict(v.split("=", 1) for v in originate.get_all("Variable"))
        assert (variables["OLIVE_CONNECT_LIMIT"], variables["OLIVE_DROP_MESSAGE"]) == ("2", SAFE_HARBOUR)
        join = next(e for e in rig.events("QueueCallerJoin"))
        left = next(e for e in rig.events("QueueCallerAbandon"))
        assert left.get("HoldTime") == "2"
        assert float(left.get("Timestamp") or 0) - float(join.get("Timestamp") or 0) == pytest.approx(2.0, abs=1e-6)
        playback = [e for e in rig.events("Newexten") if e.get("Application") == "Playback"]
        assert [e.get("AppData") for e in playback] == [SAFE_HARBOUR]
        # The record a regulator asks for.
        with transaction(session_factory) as s:
            [row] = list(attempt_rows(s, campaign_id))
        assert (row["drop_message"], row["drop_message_played"], row["abandon_reason"], row["connect_limit_s"]) == (
            SAFE_HARBOUR, True, "timeout", 2.0,
        )

    async def test_the_drop_holds_with_olive_down(self, rig: Rig, session_factory: sessionmaker[Session]) -> None:
        make_campaign(
            session_factory, name="down", contacts=[ny(2)], agents=[deaf_agent("502")], customers="cc-wait",
            drop_action="message", drop_message=SAFE_HARBOUR,
        )
        await rig.start()
        await rig.until(lambda: bool(rig.pbx.actions_named("Originate")), within_s=60, what="the Originate")
        await rig.stop()  # olive is gone; the call goes on inside Asterisk
        await rig.until(lambda: bool(rig.events("QueueCallerAbandon")), within_s=60, what="the drop")
        join, left = rig.events("QueueCallerJoin")[0], rig.events("QueueCallerAbandon")[0]
        assert float(left.get("Timestamp") or 0) - float(join.get("Timestamp") or 0) == pytest.approx(2.0, abs=1e-6)
        await rig.until(lambda: any(e.get("Application") == "Playback" for e in rig.events("Newexten")), within_s=10, what="the message")

    async def test_hang_up_when_there_is_no_message(self, rig: Rig, session_factory: sessionmaker[Session]) -> None:
        campaign_id, _ = make_campaign(session_factory, name="hangup", contacts=[ny(3)], agents=[deaf_agent("503")], customers="cc-wait")
        await rig.start()
        await rig.until(lambda: any(c.outcome for c in rig.calls(campaign_id)), within_s=120, what="the call ended")
        [call] = rig.calls(campaign_id)
        assert (call.outcome, call.abandon_reason) == ("ABANDONED", "timeout")
        assert call.drop_message_played in (None, False)
        assert not any(e.get("Application") == "Playback" for e in rig.events("Newexten"))


class TestLockout:
    async def test_no_call_within_72_h_of_an_abandon_unless_progressive(self, rig: Rig, session_factory: sessionmaker[Session]) -> None:
        # Two uk-ofcom campaigns whose only agent never answers: every live answer is abandoned,
        # and the plan retries an abandoned contact after 60 s.
        predictive_id, [locked] = make_campaign(
            session_factory, name="uk-predictive", contacts=[london(1)], agents=[deaf_agent("601")], customers="cc-wait",
            profile="uk-ofcom", dial_mode="predictive", drop_action="message", drop_message=SAFE_HARBOUR,
        )
        progressive_id, _ = make_campaign(
            session_factory, name="uk-progressive", contacts=[london(2)], agents=[deaf_agent("602")], customers="cc-wait",
            profile="uk-ofcom", dial_mode="progressive", drop_action="message", drop_message=SAFE_HARBOUR,
        )
        await rig.start()
        # The progressive campaign calls again after the retry delay: an agent is waiting for each call.
        await rig.until(lambda: len(rig.calls(progressive_id)) >= 2, within_s=400, what="a progressive redial")
        # By then the predictive campaign's retry has come due too, and the guard has refused it.
        await rig.until(
            lambda: (c := rig.contact(locked)).next_attempt_at is not None and to_epoch(c.next_attempt_at) > rig.now() + 3600,
            within_s=200, what="the lockout",
        )
        await rig.stop()
        [abandoned] = rig.calls(predictive_id)
        assert abandoned.outcome == "ABANDONED" and abandoned.ended_at is not None
        contact = rig.contact(locked)
        assert contact.next_attempt_at is not None
        assert to_epoch(contact.next_attempt_at) == to_epoch(abandoned.ended_at) + LOCKOUT_S
        with transaction(session_factory) as s:
            [answer] = explain_contact(s, locked, rig.now())
        [reason] = answer.eligibility.reasons
        assert reason.code == "abandon_lockout" and reason.clears_at == to_epoch(abandoned.ended_at) + LOCKOUT_S
        first, second = rig.calls(progressive_id)[:2]
        assert first.outcome == "ABANDONED" and first.ended_at is not None
        assert to_epoch(second.originated_at) - to_epoch(first.ended_at) >= 60  # the retry delay, no lockout


class TestCallbacks:
    async def test_a_due_callback_goes_first_and_one_outside_hours_waits(self, rig: Rig, session_factory: sessionmaker[Session]) -> None:
        rows = [ny(i) for i in range(10, 14)] + [ContactRow(numbers=("+12125550199",), timezone="Asia/Tokyo")]
        campaign_id, ids = make_campaign(session_factory, name="callbacks", contacts=rows, agents=[answering_agent("701")])
        called_back, sleeping = ids[3], ids[4]
        with transaction(session_factory) as s:
            schedule_callback(s, called_back, campaign_id, NOON_NY - 300)
            schedule_callback(s, sleeping, campaign_id, NOON_NY - 600)  # 02:00 in Tokyo
        await rig.start()
        await rig.until(lambda: len(rig.calls(campaign_id)) >= 2, within_s=120, what="two calls")
        await rig.stop()
        calls = rig.calls(campaign_id)
        assert calls[0].contact_id == called_back
        assert sleeping not in {c.contact_id for c in calls}
        assert epoch(rig.contact(sleeping).next_attempt_at) == NOON_NY + 6 * 3600  # 08:00 in Tokyo


class TestDispositions:
    async def test_set_during_the_call_takes_effect_when_it_ends(self, rig: Rig, session_factory: sessionmaker[Session]) -> None:
        campaign_id, [contact_id] = make_campaign(session_factory, name="dispo", contacts=[ny(20)], agents=[answering_agent("801")])
        await rig.start()
        await rig.until(lambda: any(c.agent_connected_at for c in rig.calls(campaign_id)), within_s=60, what="a connected call")
        [call] = rig.calls(campaign_id)
        with transaction(session_factory) as s:
            result = set_disposition(s, call.id, "dnc", rig.now(), by="agent801")
        assert not result.applied and result.dnc_added  # the number is blocked at once...
        await rig.until(lambda: rig.contact(contact_id).status == "dnc", within_s=60, what="the contact stopped")
        await rig.stop()
        with transaction(session_factory) as s:  # ...and the contact is stopped once the call has ended
            assert DncRepository(s).match(call.number, None) is not None
        [ended] = rig.calls(campaign_id)
        assert ended.outcome == "CONNECTED" and ended.disposition_applied_at is not None


class TestAbandonCap:
    async def test_power_mode_never_dials_ahead_without_room_for_an_abandon(self, rig: Rig, session_factory: sessionmaker[Session]) -> None:
        contacts = [ny(i) for i in range(30, 33)]
        capped, _ = make_campaign(
            session_factory, name="power-us", contacts=contacts, agents=[answering_agent("901")], customers="cc-wait",
            dial_mode="power", lines_per_agent=3,
        )
        await rig.start()
        await rig.until(lambda: len([c for c in rig.calls(capped) if c.outcome]) == 3, within_s=400, what="three calls")
        await rig.stop()
        calls = rig.calls(capped)
        assert [c.outcome for c in calls] == ["CONNECTED"] * 3
        for before, after in pairwise(calls):
            assert before.ended_at is not None and after.originated_at >= before.ended_at  # one line for one agent

    async def test_profile_none_lets_power_mode_dial_ahead(self, rig: Rig, session_factory: sessionmaker[Session]) -> None:
        free, _ = make_campaign(
            session_factory, name="power-none", contacts=[ny(i) for i in range(40, 43)], agents=[answering_agent("902")],
            customers="cc-wait", profile="none", dial_mode="power", lines_per_agent=3,
        )
        await rig.start()
        await rig.until(lambda: len([c for c in rig.calls(free) if c.outcome]) == 3, within_s=400, what="three calls")
        await rig.stop()
        assert sorted(c.outcome or "" for c in rig.calls(free)) == ["ABANDONED", "ABANDONED", "CONNECTED"]
