"""Every recorded Asterisk 22 transcript, replayed through the call tracker.

Times are the transcripts' own receive times (seconds from the Originate),
so the asserted timings are what a live olive would have recorded.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from replay import replay

from olive.calls import AbandonReason, CallState, Outcome
from support.transcripts import load, names


def approx(value: float, abs: float = 0.01) -> object:
    return pytest.approx(value, abs=abs)


def with_calls() -> list[str]:
    """The recordings that place a call (21 records only an Asterisk restart)."""
    return [n for n in names() if any(e.get("Action") == "Originate" for e in load(n).sent())]


class TestEveryTranscript:
    @pytest.mark.parametrize("name", with_calls())
    def test_each_originate_ends_with_one_outcome(self, name: str) -> None:
        r = replay(name)
        assert r.call_ids, "every transcript originates at least one call"
        assert sorted(r.ended) == sorted(r.call_ids)
        assert len(r.tracker) == 0
        for record in r.ended.values():
            assert record.state is CallState.ENDED
            assert record.outcome is not None
            # exactly one END per call
            ends = [c for c in r.call_changes if c.record.call_id == record.call_id and c.ended]
            assert len(ends) == 1


class TestAnsweredAndConnected:
    def test_01_agent_answers(self) -> None:
        rec = replay("01_answered_connected_to_agent").record()
        assert rec.outcome is Outcome.CONNECTED
        assert rec.originate_reason == 4
        assert rec.agent_interface == "Local/101@agents"
        assert rec.agent_member_name == "agent101"
        assert rec.answered_at == approx(6.014)
        assert rec.queued_at == approx(6.014)
        assert rec.agent_connected_at == approx(7.017)
        assert rec.customer_wait_s == approx(1.003)
        assert rec.asterisk_hold_time_s == 1
        assert rec.talk_s == approx(28.540 - 7.017)
        assert rec.asterisk_talk_time_s == 21
        assert rec.ring_s == approx(6.014)
        assert rec.hangup_cause == 16
        assert rec.uniqueid == "1795712205.0"
        assert rec.channel == "Local/1001@customers-00000000;1"
        assert [(a.interface, a.ring_ms) for a in rec.agents_rung] == [("Local/101@agents", None)]

    def test_08_pjsip_single_leg(self) -> None:
        rec = replay("08_sipp_uas_answered").record()
        assert rec.outcome is Outcome.CONNECTED
        assert rec.channel == "PJSIP/sipp-00000000"
        assert rec.agent_interface == "Local/101@agents"
        assert rec.answered_at == approx(0.008)
        assert rec.agent_connected_at == approx(1.011)

    def test_10_channel_id_correlates_every_leg(self) -> None:
        r = replay("10_originate_with_channelid")
        rec = r.record("olive-call-0001")
        assert rec.outcome is Outcome.CONNECTED
        assert rec.uniqueid == rec.linkedid == "olive-call-0001"
        assert rec.agent_interface == "Local/101@agents"
        assert rec.customer_wait_s == approx(8.012 - 7.009)
        assert rec.talk_s == approx(38.534 - 8.012)
        assert rec.asterisk_talk_time_s == 31

    def test_16_queue_status_does_not_disturb_the_call(self) -> None:
        rec = replay("16_queue_status_snapshot").record()
        assert rec.outcome is Outcome.CONNECTED
        assert rec.agent_interface == "Local/101@agents"

    def test_17_filtered_login_still_classifies(self) -> None:
        rec = replay("17_events_filtered_login").record()
        assert rec.outcome is Outcome.CONNECTED
        assert rec.agent_connected_at == approx(4.007)


class TestNotAnswered:
    def test_02_local_busy(self) -> None:
        rec = replay("02_busy").record()
        assert (rec.outcome, rec.originate_reason, rec.dial_status) == (Outcome.BUSY, 5, "BUSY")
        assert rec.hangup_cause == 17  # the ;2 leg's cause, not the ;1 leg's 0
        assert rec.answered_at is None

    def test_03_no_answer_at_the_timeout(self) -> None:
        rec = replay("03_no_answer_timeout_5000").record()
        assert (rec.outcome, rec.originate_reason, rec.hangup_cause) == (Outcome.NO_ANSWER, 3, 19)
        assert rec.ring_s == approx(5.008)

    def test_04_congestion_with_originate_response_first(self) -> None:
        rec = replay("04_congestion").record()
        assert (rec.outcome, rec.originate_reason, rec.hangup_cause) == (Outcome.CONGESTION, 8, 34)
        assert rec.dial_status == "CONGESTION"

    def test_06_thirty_milliseconds_is_no_answer_while_ringing(self) -> None:
        rec = replay("06_timeout_30_ms").record()
        assert rec.outcome is Outcome.NO_ANSWER
        assert rec.ringing_at is not None and rec.answered_at is None
        assert rec.ring_s == approx(0.034)

    def test_07_nonexistent_number(self) -> None:
        rec = replay("07_nonexistent_number").record()
        assert (rec.outcome, rec.originate_reason) == (Outcome.INVALID_NUMBER, 0)

    def test_09_pjsip_busy_is_reason_0_but_busy(self) -> None:
        rec = replay("09_sipp_uas_busy").record()
        assert (rec.outcome, rec.originate_reason, rec.dial_status, rec.hangup_cause) == (
            Outcome.BUSY, 0, "BUSY", 17,
        )


class TestAbandoned:
    def test_05_caller_hangs_up_in_an_empty_queue(self) -> None:
        rec = replay("05_answered_no_agent_abandon").record()
        assert rec.outcome is Outcome.ABANDONED
        assert rec.abandon_reason is AbandonReason.CALLER_HANGUP
        assert rec.customer_wait_s == approx(4.027 - 1.004)
        assert rec.asterisk_hold_time_s == 3
        assert rec.agents_rung == ()

    def test_11_agents_rung_without_answer_are_recorded(self) -> None:
        rec = replay("11_agent_no_answer").record()
        assert rec.outcome is Outcome.ABANDONED
        assert rec.abandon_reason is AbandonReason.CALLER_HANGUP
        assert [a.ring_ms for a in rec.agents_rung] == [5000, 5000, 5000, None]
        assert {a.interface for a in rec.agents_rung} == {"Local/901@agents-noanswer"}
        assert len(rec.agents_no_answer) == 3
        assert rec.asterisk_hold_time_s == 20
        assert rec.agent_interface is None

    def test_12_connect_limit_timeout_is_a_drop_not_a_hangup(self) -> None:
        rec = replay("12_queue_timeout_2s").record()
        assert rec.outcome is Outcome.ABANDONED
        assert rec.abandon_reason is AbandonReason.TIMEOUT
        assert rec.queue_status == "TIMEOUT"
        assert rec.customer_wait_s == approx(8.010 - 6.008)  # to the drop, not the hang-up 1 s later

    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            ("12_queue_timeout_2s", AbandonReason.TIMEOUT),
            ("05_answered_no_agent_abandon", AbandonReason.CALLER_HANGUP),
            ("13_customer_hangup_while_agent_rings", AbandonReason.CALLER_HANGUP),
        ],
    )
    def test_abandon_reason_without_dialplan_events(self, name: str, reason: AbandonReason) -> None:
        # A login with `Events: call,agent` never sees QUEUESTATUS (transcript 17). Whether
        # the customer's leg was already hanging up at QueueCallerAbandon still tells.
        rec = replay(name, classes=frozenset({"call", "agent"})).record()
        assert rec.queue_status is None
        assert (rec.outcome, rec.abandon_reason) == (Outcome.ABANDONED, reason)

    def test_13_customer_hangs_up_while_the_agent_rings(self) -> None:
        rec = replay("13_customer_hangup_while_agent_rings").record()
        assert rec.outcome is Outcome.ABANDONED
        assert rec.abandon_reason is AbandonReason.CALLER_HANGUP
        assert [(a.interface, a.ring_ms) for a in rec.agents_rung] == [("Local/201@agents-slow", None)]

    def test_14_paused_agent_is_never_rung(self) -> None:
        rec = replay("14_agent_paused").record()
        assert rec.outcome is Outcome.ABANDONED
        assert rec.agents_rung == ()


class TestConcurrentCalls:
    EXPECTED: ClassVar[dict[str, Outcome]] = {
        "olive-c15-01": Outcome.CONNECTED,
        "olive-c15-02": Outcome.BUSY,
        "olive-c15-03": Outcome.NO_ANSWER,
        "olive-c15-04": Outcome.CONNECTED,
        "olive-c15-05": Outcome.CONGESTION,
        "olive-c15-06": Outcome.CONNECTED,
        "olive-c15-07": Outcome.INVALID_NUMBER,
        "olive-c15-08": Outcome.BUSY,
        "olive-c15-09": Outcome.NO_ANSWER,
        "olive-c15-10": Outcome.CONNECTED,
    }

    def test_15_every_call_correlates_by_channel_id(self) -> None:
        r = replay("15_concurrent_10_calls")
        assert {cid: rec.outcome for cid, rec in r.ended.items()} == self.EXPECTED

    def test_15_failure_before_channels_waits_for_the_far_cause(self) -> None:
        # 2002's OriginateResponse (Reason 5) precedes its own Newchannel: the record
        # still gets the ;2 leg's cause 17, because the tracker waits for the legs.
        r = replay("15_concurrent_10_calls")
        assert r.record("olive-c15-08").hangup_cause == 17
        assert r.record("olive-c15-05").hangup_cause == 34
        assert r.record("olive-c15-02").hangup_cause == 17

    def test_15_fourth_answered_call_waits_for_a_free_agent(self) -> None:
        r = replay("15_concurrent_10_calls")
        waits = sorted(r.ended[c].customer_wait_s or 0 for c, o in self.EXPECTED.items() if o is Outcome.CONNECTED)
        assert waits[-1] == approx(19, abs=1.5)
        assert all(w < 2 for w in waits[:-1])

    def test_15_agents_are_distinct_while_busy(self) -> None:
        r = replay("15_concurrent_10_calls")
        agents = [r.ended[c].agent_interface for c in ("olive-c15-01", "olive-c15-04", "olive-c15-06")]
        assert len(set(agents)) == 3


class TestRealAsteriskSetUpFromDocs:
    """19, 20 and 22: the shipped dialplan (with its [olive-outcome] hangup handler) on a real Asterisk."""

    def test_19_connected(self) -> None:
        rec = replay("19_outcome_in_astdb_connected").record()
        assert rec.outcome is Outcome.CONNECTED
        assert rec.agent_interface == "Local/101@olive-test-agents"

    def test_20_connect_limit_abandon(self) -> None:
        rec = replay("20_outcome_in_astdb_abandoned").record()
        assert rec.outcome is Outcome.ABANDONED

    def test_22_a_call_cut_by_core_restart_now_ends_connected(self) -> None:
        """Asterisk hangs the call up (Shutdown comes after): olive sees it end as it was."""
        rec = replay("22_core_restart_with_a_call_up").record()
        assert rec.outcome is Outcome.CONNECTED
        assert rec.agent_interface == "Local/101@olive-test-agents"
