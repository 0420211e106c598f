from __future__ import annotations

import pytest
from replay import fragment_events, replay

from olive import ami
from olive.calls import AgentActivity, MemberTracker

A = AgentActivity


def activities(r, interface: str) -> list[AgentActivity]:  # type: ignore[no-untyped-def]
    return [
        c.status.activity
        for c in r.agent_changes
        if c.status.interface == interface and c.status.activity is not c.previous
    ]


class TestMemberTracker:
    def test_01_idle_ringing_talking_idle(self) -> None:
        r = replay("01_answered_connected_to_agent")
        assert activities(r, "Local/101@agents") == [A.IDLE, A.RINGING, A.TALKING, A.IDLE]
        assert activities(r, "Local/102@agents") == [A.IDLE]
        talk = [c.talk_s for c in r.agent_changes if c.talk_s is not None]
        assert talk == [pytest_approx(28.539 - 7.017)]

    def test_01_with_wrapup(self) -> None:
        r = replay("01_answered_connected_to_agent", wrapup_s=2.0)
        acts = activities(r, "Local/101@agents")
        assert acts == [A.IDLE, A.RINGING, A.TALKING, A.WRAPUP, A.IDLE]
        done = [c for c in r.agent_changes if c.wrapup_s is not None]
        assert len(done) == 1 and done[0].wrapup_s >= 2.0

    def test_11_rings_four_times_never_answers(self) -> None:
        r = replay("11_agent_no_answer")
        acts = activities(r, "Local/901@agents-noanswer")
        assert acts.count(A.RINGING) == 4
        assert A.TALKING not in acts
        assert r.members.get("Local/901@agents-noanswer").activity is A.IDLE  # type: ignore[union-attr]

    def test_11_counts_the_rings_it_missed_in_a_row(self) -> None:
        r = replay("11_agent_no_answer")
        missed = [c.status.missed_in_a_row for c in r.agent_changes if c.status.interface == "Local/901@agents-noanswer"]
        # Rung four times: three rings time out, the fourth ends when the customer leaves.
        assert sorted(set(missed)) == [0, 1, 2, 3]

    def test_a_connect_or_an_unpause_forgives_missed_rings(self) -> None:
        r = replay("01_answered_connected_to_agent", until=7.0)  # agent101 is ringing
        agent = r.members.get("Local/101@agents")
        assert agent is not None and agent.activity is A.RINGING
        customer, agent_leg = ami.ChannelRef("Local/1001@x-1;1", "u1", "u1"), ami.ChannelRef("Local/101@agents-2;1", "u2", "u1")
        miss = ami.AgentRingNoAnswer(customer, agent_leg, "olive-campaign", "Local/101@agents", "agent101", 2000)
        r.members.handle(miss, 8.0)
        assert r.members.get("Local/101@agents").missed_in_a_row == 1  # type: ignore[union-attr]
        paused = ami.QueueMemberState("QueueMemberPause", "olive-campaign", "Local/101@agents", "agent101", 1, True, "missed", False, 0, 0)
        unpaused = ami.QueueMemberState("QueueMemberPause", "olive-campaign", "Local/101@agents", "agent101", 1, False, "", False, 0, 0)
        r.members.handle(paused, 9.0)
        assert r.members.get("Local/101@agents").missed_in_a_row == 1  # type: ignore[union-attr]
        r.members.handle(unpaused, 10.0)
        assert r.members.get("Local/101@agents").missed_in_a_row == 0  # type: ignore[union-attr]
        full = replay("01_answered_connected_to_agent")
        assert all(c.status.missed_in_a_row == 0 for c in full.agent_changes)

    def test_a_ring_the_connect_limit_cut_short_is_not_a_miss(self) -> None:
        """app_queue rings a member only for what is left of Queue()'s timeout (whole
        seconds): a ring of 1000 ms under a 2 s connect limit was the customer's limit
        running out, not the agent letting it ring (the e2e agents answer after 1 s)."""
        customer, agent_leg = ami.ChannelRef("Local/1001@x-1;1", "u1", "u1"), ami.ChannelRef("Local/101@agents-2;1", "u2", "u1")
        for ring_ms, counted in ((1000, 0), (1999, 0), (2000, 1), (5000, 1)):
            r = replay("01_answered_connected_to_agent", until=7.0)  # agent101 is ringing
            r.members.full_ring_ms = 2000
            r.members.handle(ami.AgentRingNoAnswer(customer, agent_leg, "olive-campaign", "Local/101@agents", "agent101", ring_ms), 8.0)
            agent = r.members.get("Local/101@agents")
            assert agent is not None and agent.activity is not A.RINGING
            assert agent.missed_in_a_row == counted, ring_ms

    @pytest.mark.parametrize(("name", "interface", "limit_ms", "missed"), [
        # [olive-dialer]'s TIMEOUT(absolute) cancels the ring at the 1.5 s limit: no AgentRingNoAnswer.
        ("39_dialer_connect_limit_agent_still_ringing", "Local/979@olive-test-agents", 1500, 1),
        # The customer hung up 3 s into the ring, before a 5 s limit: not the agent's miss.
        ("13_customer_hangup_while_agent_rings", "Local/201@agents-slow", 5000, 0),
    ])
    def test_a_ring_the_connect_limit_cancelled_is_a_miss(self, name: str, interface: str, limit_ms: int, missed: int) -> None:
        r = replay(name, full_ring_ms=limit_ms)
        counts = [c.status.missed_in_a_row for c in r.agent_changes if c.status.interface == interface]
        assert counts and counts[-1] == missed
        assert any(c.previous is A.RINGING for c in r.agent_changes if c.status.interface == interface)

    def test_14_paused_with_reason(self) -> None:
        r = replay("14_agent_paused")
        agent = r.members.get("Local/101@agents")
        assert agent is not None
        assert (agent.activity, agent.paused_reason) == (A.PAUSED, "break")

    def test_05_removed_member_logs_out(self) -> None:
        r = replay("05_answered_no_agent_abandon")
        assert r.members.agents() == [] or all(a.activity is A.LOGGED_OUT for a in r.members.agents())

    def test_device_in_use_without_olive_call_is_busy(self) -> None:
        m = MemberTracker()
        ev = ami.QueueMemberState("QueueMemberStatus", "q", "PJSIP/101", "a", 2, False, "", True, 0, 0)
        assert m.handle(ev, 1.0)[0].status.activity is A.BUSY
        ev = ami.QueueMemberState("QueueMemberStatus", "q", "PJSIP/101", "a", 5, False, "", False, 0, 0)
        assert m.handle(ev, 2.0)[0].status.activity is A.UNAVAILABLE

    def test_snapshot_ends_a_call_whose_end_was_missed(self) -> None:
        r = replay("16_queue_status_snapshot", until=9.5)
        assert r.members.get("Local/101@agents").activity is A.TALKING  # type: ignore[union-attr]
        snapshot = ami.QueueMemberState("QueueMember", "olive-campaign", "Local/101@agents", "agent101", 1, False, "", False, 1, 0)
        changes = r.members.handle(snapshot, 60.0)
        assert changes[0].status.activity is A.IDLE


def pytest_approx(value: float) -> object:
    import pytest

    return pytest.approx(value, abs=0.01)


class TestAgentCompleteWithoutCaller:
    """Transcript 18: AgentComplete may lack the caller's Channel/Uniqueid and even every Dest* field."""

    def test_18_each_recorded_event_ends_the_members_call(self) -> None:
        events = fragment_events("18_agentcomplete_without_channel")
        assert len(events) == 3
        for event in events:
            assert isinstance(event, ami.AgentComplete)
            m = MemberTracker()
            added = ami.QueueMemberState(
                "QueueMemberAdded", event.queue, event.interface, event.member_name, 1, False, "", False, 0, 0
            )
            m.handle(added, 0.0)
            customer = ami.ChannelRef("Local/1001@customers-1;1", "c1", "call-1")
            agent_leg = ami.ChannelRef(f"{event.interface}-2;1", "a1", "call-1")
            m.handle(ami.AgentConnect(customer, agent_leg, event.queue, event.interface, event.member_name, 0, 1), 10.0)
            assert m.get(event.interface).activity is A.TALKING  # type: ignore[union-attr]
            (change,) = m.handle(event, 10.0 + event.talk_time_s)
            assert change.status.activity is A.IDLE
            assert change.status.call_id is None
            assert change.talk_s == pytest_approx(event.talk_time_s)

    def test_01_replayed_with_a_caller_less_agent_complete(self) -> None:
        r = replay("01_answered_connected_to_agent", caller_less_complete=True)
        assert activities(r, "Local/101@agents") == [A.IDLE, A.RINGING, A.TALKING, A.IDLE]
        rec = r.record()
        assert rec.asterisk_talk_time_s == 21  # the call still learns Asterisk's TalkTime

    def test_10_replayed_with_a_caller_less_agent_complete_and_wrapup(self) -> None:
        r = replay("10_originate_with_channelid", caller_less_complete=True, wrapup_s=2.0)
        assert activities(r, "Local/101@agents")[-3:] == [A.TALKING, A.WRAPUP, A.IDLE]
        assert r.record("olive-call-0001").asterisk_talk_time_s == 31

    def test_a_complete_for_another_queue_member_is_not_this_agents(self) -> None:
        (event, *_) = fragment_events("18_agentcomplete_without_channel")
        assert isinstance(event, ami.AgentComplete)
        m = MemberTracker()
        m.handle(ami.QueueMemberState("QueueMemberAdded", "q", "Local/999@x", "other", 1, False, "", False, 0, 0), 0.0)
        assert m.handle(event, 1.0) == []


class TestCounts:
    """``version`` counts status writes, ``membership`` only changes of who is in which queue:
    the engine keeps what it derived from the members while they stay the same."""

    @staticmethod
    def state(kind: str, queue: str, interface: str, status: int = 1, paused: bool = False) -> ami.QueueMemberState:
        return ami.QueueMemberState(kind, queue, interface, interface, status, paused, "", False, 0, 0)

    def test_a_status_change_is_a_version_and_not_a_membership(self) -> None:
        m = MemberTracker()
        m.handle(self.state("QueueMemberAdded", "q", "Local/101@a"), 0.0)
        version, membership = m.version, m.membership
        assert (version, membership) == (1, 1)
        m.handle(self.state("QueueMemberPause", "q", "Local/101@a", paused=True), 1.0)
        m.handle(self.state("QueueMemberStatus", "q", "Local/101@a", status=2, paused=True), 2.0)
        assert m.version == version + 2 and m.membership == membership
        assert m.status("Local/101@a").activity is AgentActivity.PAUSED

    def test_joining_and_leaving_queues_are_memberships(self) -> None:
        m = MemberTracker()
        m.handle(self.state("QueueMemberAdded", "q1", "Local/101@a"), 0.0)
        m.handle(self.state("QueueMemberAdded", "q2", "Local/101@a"), 0.0)
        assert m.membership == 2
        m.handle(self.state("QueueMemberRemoved", "q1", "Local/101@a"), 1.0)  # still in q2
        m.handle(self.state("QueueMemberRemoved", "q2", "Local/101@a"), 1.0)  # out of its last queue
        assert m.membership == 4 and m.status("Local/101@a").activity is AgentActivity.LOGGED_OUT
        m.handle(self.state("QueueMemberAdded", "q1", "Local/102@a"), 2.0)
        m.snapshot("q1", [], 3.0)  # an Asterisk restart forgot it
        assert m.membership == 6
