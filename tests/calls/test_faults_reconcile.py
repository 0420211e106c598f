"""The pure side of issue 10's faults: overdue Originates, results read back from AstDB,
and a QueueStatus that replaces what the member tracker believed."""

from __future__ import annotations

from replay import replay
from test_reconcile import channels_of_16

from olive import ami
from olive.calls import AgentActivity, CallState, CallTracker, MemberTracker, Outcome


def member(queue: str, interface: str, *, in_call: bool = False, status: int = 1) -> ami.QueueMemberState:
    return ami.QueueMemberState("QueueMember", queue, interface, interface, status, False, "", in_call, 0, 0)


class TestOverdueOriginate:
    def test_asked_about_once_its_answer_is_late(self) -> None:
        t = CallTracker()
        t.originate("c1", action_id="c1", dial_string="Local/1@x", now=0.0, answer_by=20.0)
        assert t.overdue(19.9) == []
        assert t.overdue(20.0) == ["c1"]
        assert t.overdue(25.0) == []  # once per deadline, while Asterisk is asked

    def test_no_channel_ends_it_failed_with_the_reason(self) -> None:
        t = CallTracker()
        t.originate("c1", action_id="c1", dial_string="Local/1@x", now=0.0, answer_by=20.0)
        t.originate("c2", action_id="c2", dial_string="Local/2@x", now=0.0, answer_by=99.0)
        (change,) = t.reconcile([], 20.5, gone="no OriginateResponse in time", only=t.overdue(20.0))
        assert change.ended and change.record.call_id == "c1"
        assert change.record.outcome is Outcome.FAILED
        assert "no OriginateResponse in time" in (change.record.detail or "")
        assert [r.call_id for r in t.active()] == ["c2"]  # the others are not touched

    def test_a_call_that_exists_is_followed_and_asked_about_again(self) -> None:
        r = replay("16_queue_status_snapshot", until=0.5)  # ringing, no OriginateResponse yet
        call_id = r.call_ids[0]
        record = r.tracker.get(call_id)
        assert record is not None and record.linkedid and record.answered_at is None
        changes = r.tracker.reconcile(channels_of_16(), 10.0, only=[call_id])
        assert not any(c.ended for c in changes)
        assert r.tracker.get(call_id) is not None
        # It is up (answered), so its OriginateResponse went by: no more asking.
        assert r.tracker.overdue(10.0 + r.tracker.recheck_s) == []

    def test_a_ringing_call_whose_answer_is_lost_is_asked_about_until_it_is_gone(self) -> None:
        t = CallTracker(recheck_s=30.0)
        t.originate("c1", action_id="c1", dial_string="Local/1@x", now=0.0, answer_by=20.0)
        ringing = ami.CoreShowChannel(ami.ChannelRef("Local/1@x-00000001;1", "c1", "c1"), 5, "AppDial", None, "00:00:20")
        (change,) = t.reconcile([ringing], 20.0, only=t.overdue(20.0))
        assert not change.ended and change.record.state is CallState.RINGING  # it exists: followed on
        assert t.overdue(49.0) == [] and t.overdue(50.0) == ["c1"]
        (change,) = t.reconcile([], 50.0, gone="gone", only=["c1"])
        assert change.ended and change.record.outcome is Outcome.FAILED

    def test_a_failed_question_is_asked_again_later(self) -> None:
        t = CallTracker(recheck_s=30.0)
        t.originate("c1", action_id="c1", dial_string="Local/1@x", now=0.0, answer_by=20.0)
        t.recheck(t.overdue(20.0), 21.0)
        assert t.overdue(50.0) == []
        assert t.overdue(51.0) == ["c1"]


class TestResultsFromAstDB:
    def gone(self, result: str | None, until: float = 0.0005) -> Outcome | None:
        r = replay("16_queue_status_snapshot", until=until)
        call_id = r.call_ids[0]
        r.tracker.lost_sight([call_id])
        results = {call_id: result} if result is not None else {}
        (change,) = r.tracker.reconcile([], 60.0, results=results)
        assert change.ended
        if result is not None:
            assert "AstDB" in (change.record.detail or "")
        return change.record.outcome

    def test_connected_unseen_is_connected(self) -> None:
        assert self.gone("CONNECTED|Local/101@agents|") is Outcome.CONNECTED

    def test_abandoned_unseen_is_abandoned(self) -> None:
        assert self.gone("ABANDONED||TIMEOUT") is Outcome.ABANDONED

    def ended_at(self, result: str, until: float = 0.0005) -> tuple[float | None, float | None, float]:
        """(ended_at, talk_s, originated_at) of a call gone unseen, read back at t=60."""
        r = replay("16_queue_status_snapshot", until=until)
        call_id = r.call_ids[0]
        r.tracker.lost_sight([call_id])
        (change,) = r.tracker.reconcile([], 60.0, results={call_id: result})
        return change.record.ended_at, change.record.talk_s, change.record.originated_at

    def test_it_ended_when_the_hangup_handler_ran_not_when_olive_read_it(self) -> None:
        ended, talk, originated = self.ended_at("CONNECTED|Local/101@agents||30")
        assert originated < 30 and ended == 30.0
        assert talk == 0.0  # the connect was not seen: no talk time is invented
        ended, talk, _ = self.ended_at("CONNECTED|Local/101@agents||30", until=9.5)  # connected at 9.007, seen
        assert ended == 30.0 and talk is not None and 20 < talk < 22

    def test_an_older_dialplan_without_end_time_gives_the_read_time(self) -> None:
        assert self.ended_at("CONNECTED|Local/101@agents|")[0] == 60.0

    def test_an_impossible_end_time_moves_nothing(self) -> None:
        assert self.ended_at("ABANDONED||TIMEOUT|1e12")[0] == 60.0  # not after olive read it
        assert self.ended_at("ABANDONED||TIMEOUT|nan")[0] == 60.0
        ended, _, originated = self.ended_at("ABANDONED||TIMEOUT|-5")
        assert ended == originated  # not before the call was placed

    def test_without_a_result_it_is_what_olive_can_prove(self) -> None:
        assert self.gone(None) is Outcome.FAILED
        assert self.gone(None, until=8.5) is Outcome.ABANDONED  # olive had seen the answer


class TestQueueSnapshot:
    def test_members_missing_from_queue_status_are_out_and_off_their_call(self) -> None:
        m = MemberTracker()
        m.handle(member("q", "Local/101@a"), 0.0)
        m.handle(member("q", "Local/102@a"), 0.0)
        talking = ami.QueueMemberState("QueueMemberStatus", "q", "Local/101@a", "a", 2, False, "", True, 0, 0)
        m.handle(talking, 1.0)
        # Asterisk restarted: QueueStatus lists only 102.
        changes = m.snapshot("q", ["Local/102@a"], 5.0)
        (gone,) = [c.status for c in changes]
        assert gone.interface == "Local/101@a" and gone.activity is AgentActivity.LOGGED_OUT
        assert gone.call_id is None and not gone.queues
        still = m.get("Local/102@a")
        assert still is not None and still.activity is AgentActivity.IDLE

    def test_a_member_of_another_queue_keeps_it(self) -> None:
        m = MemberTracker()
        m.handle(member("q1", "Local/101@a"), 0.0)
        m.handle(member("q2", "Local/101@a"), 0.0)
        m.snapshot("q1", [], 1.0)
        status = m.get("Local/101@a")
        assert status is not None and status.queues == frozenset({"q2"}) and status.activity is AgentActivity.IDLE

    def test_talking_it_stays_on_its_call_until_it_leaves_its_last_queue(self) -> None:
        """After an Asterisk restart olive re-reads its queues one at a time. Out of the first
        (the callbacks queue) but still listed in another, an agent on a call is still on it:
        it is not idle holding the call (stored so, it read 'ready' with a dead call as current)."""
        m = MemberTracker()
        m.handle(member("olive-callbacks", "Local/101@a"), 0.0)
        m.handle(member("q", "Local/101@a"), 0.0)
        customer = ami.ChannelRef("Local/1001@customers-1;1", "c1", "call-1")
        agent_leg = ami.ChannelRef("Local/101@a-2;1", "a1", "call-1")
        m.handle(ami.AgentConnect(customer, agent_leg, "q", "Local/101@a", "a", 0, 1), 1.0)
        changes = m.snapshot("olive-callbacks", [], 5.0)
        assert all(c.status.activity is AgentActivity.TALKING for c in changes)
        status = m.get("Local/101@a")
        assert status is not None and status.activity is AgentActivity.TALKING and status.call_id == "call-1"
        (gone,) = m.snapshot("q", [], 5.1)
        assert gone.status.activity is AgentActivity.LOGGED_OUT and gone.status.call_id is None


class TestUnknownOutcome:
    def ended(self, *, answers_seen: bool, until: float = 0.5) -> tuple[Outcome | None, bool, str]:
        r = replay("16_queue_status_snapshot", until=until)  # ringing when olive lost sight
        r.tracker.lost_sight(r.call_ids)
        (change,) = r.tracker.reconcile([], 60.0, answers_seen=answers_seen)
        rec = change.record
        return rec.outcome, rec.outcome_unknown, rec.detail or ""

    def test_gone_unseen_with_nothing_known_is_unknown(self) -> None:
        outcome, unknown, detail = self.ended(answers_seen=False)
        assert (outcome, unknown) == (Outcome.FAILED, True) and "outcome unknown" in detail

    def test_gone_where_an_answer_would_have_been_seen_was_not_answered(self) -> None:
        outcome, unknown, detail = self.ended(answers_seen=True)
        assert (outcome, unknown) == (Outcome.FAILED, False) and "not answered" in detail

    def test_a_call_seen_answered_then_lost_is_an_abandon_that_may_have_connected(self) -> None:
        # Counted as abandoned (the safe side of the 3% rule), but maybe an agent took it.
        outcome, unknown, _ = self.ended(answers_seen=False, until=8.5)
        assert (outcome, unknown) == (Outcome.ABANDONED, True)

    def test_an_abandon_read_from_astdb_is_known(self) -> None:
        r = replay("16_queue_status_snapshot", until=0.5)
        call_id = r.call_ids[0]
        r.tracker.lost_sight([call_id])
        (change,) = r.tracker.reconcile([], 60.0, results={call_id: "ABANDONED||TIMEOUT"})
        rec = change.record
        assert (rec.outcome, rec.outcome_unknown) == (Outcome.ABANDONED, False)
        assert rec.abandon_reason is not None and rec.abandon_reason.value == "timeout"
