"""Preview mode, agent first: the call tracker and the member tracker on the recorded calls.

Transcripts 27-33 were recorded on a real Asterisk 22.10.1 set up from docs/asterisk:
olive originates to the agent's interface into [olive-preview], whose Dial() calls the
customer once the agent answers. The customer's outcome comes from that dial alone,
in whatever order AMI delivers its events; an agent who does not answer dialed nobody.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_order import events_of as _events_of

from olive import ami
from olive.calls import AgentActivity, CallRecord, CallState, CallTracker, MemberTracker, Outcome
from support.transcripts import load

AGENT = "Local/801@olive-test-agents"
NOT_ANSWERING = "Local/901@olive-test-agents"

#: transcript -> (outcome, DialStatus, the customer's far cause, connected, not placed)
RECORDED = {
    "27_preview_agent_first_answered": (Outcome.CONNECTED, "ANSWER", 16, True, False),
    "28_preview_agent_first_busy": (Outcome.BUSY, "BUSY", 17, False, False),
    "29_preview_agent_first_no_answer": (Outcome.NO_ANSWER, "NOANSWER", None, False, False),
    "30_preview_agent_does_not_answer": (Outcome.FAILED, None, None, False, True),
    "31_preview_agent_first_congestion": (Outcome.CONGESTION, "CONGESTION", 34, False, False),
    "32_preview_agent_first_no_such_number": (Outcome.INVALID_NUMBER, "CHANUNAVAIL", None, False, False),
    "33_preview_agent_hangs_up_while_customer_rings": (Outcome.NO_ANSWER, "CANCEL", 16, False, False),
}


def events_of(name: str) -> tuple[list[tuple[float, ami.TypedEvent]], dict[str, str]]:
    events, originate = _events_of(name)
    return events, {**originate, "channel_id": load(name).originate().get("ChannelId") or ""}


def _agent(name: str) -> str:
    return NOT_ANSWERING if name.startswith("30_") else AGENT


def run(name: str, events: list[tuple[float, ami.TypedEvent]], action_id: str) -> CallRecord:
    tracker = CallTracker()
    call_id = events_of(name)[1]["channel_id"]
    tracker.originate(call_id, action_id=action_id, dial_string=_agent(name), now=0.0, agent_first=_agent(name))
    ended = None
    for t, ev in events:
        for change in tracker.handle(ev, t):
            if change.ended:
                assert ended is None, "a call ends once"
                ended = change.record
    for change in tracker.tick(1e9):
        ended = change.record
    assert ended is not None
    return ended


def check(name: str, record: CallRecord) -> None:
    outcome, dial_status, cause, connected, not_placed = RECORDED[name]
    assert record.outcome is outcome, record.detail
    assert record.dial_status == dial_status
    assert record.not_placed is not_placed
    assert (record.agent_connected_at is not None) is connected
    assert (record.answered_at is not None) is connected  # the customer's answer, not the agent's
    assert record.agent_interface == (AGENT if connected else None)
    if cause is not None:
        assert record.hangup_cause == cause
    if not_placed:
        assert record.detail is not None and record.detail.startswith("not placed: the agent did not answer")
        assert record.agent_answered_at is None
    else:
        assert record.agent_answered_at is not None


@pytest.mark.parametrize("name", list(RECORDED))
def test_the_recorded_calls(name: str) -> None:
    events, originate = events_of(name)
    check(name, run(name, events, originate["action_id"]))


@pytest.mark.parametrize("name", list(RECORDED))
@settings(max_examples=15, deadline=None, derandomize=True)
@given(data=st.data())
def test_in_any_order(name: str, data: st.DataObject) -> None:
    """OriginateResponse anywhere; every DialEnd, the DIALSTATUS VarSets and the customer legs' hangups
    anywhere between the Newchannel and the Hangup of the channels they name (the agent's own hangups,
    which end the call, stay where they were): the outcome stays."""
    events, originate = events_of(name)
    moved = [e for e in events if _movable(e[1], _agent(name))]
    rest = [e for e in events if not _movable(e[1], _agent(name))]
    for item in data.draw(st.permutations(moved)):
        # One channel's own events keep their order (AMI publishes each channel's in order): after
        # the Newchannel of every channel the event names, before the (unmoved) Hangup of any of them.
        named = {r.uniqueid for r in _refs(item[1])} if not isinstance(item[1], ami.OriginateResponse) else set()
        after = max((i + 1 for i, (_, e) in enumerate(rest) if isinstance(e, ami.Newchannel) and e.ref.uniqueid in named), default=0)
        before = min((i for i, (_, e) in enumerate(rest) if isinstance(e, ami.Hangup) and e.ref.uniqueid in named), default=len(rest))
        rest.insert(data.draw(st.integers(after, max(after, before))), item)
    check(name, run(name, rest, originate["action_id"]))


def _movable(event: ami.TypedEvent, agent: str) -> bool:
    if isinstance(event, (ami.OriginateResponse, ami.DialEnd)):
        return True
    if isinstance(event, ami.VarSet):
        return event.variable == "DIALSTATUS"
    return isinstance(event, ami.Hangup) and not event.ref.channel.startswith(agent + "-")


def _refs(event: ami.TypedEvent) -> list[ami.ChannelRef]:
    if isinstance(event, (ami.DialBegin, ami.DialEnd)):
        return [r for r in (event.caller, event.dest) if r is not None]
    ref = getattr(event, "ref", None)
    return [ref] if isinstance(ref, ami.ChannelRef) else []


def test_the_agent_rings_talks_and_wraps_up() -> None:
    """No queue event moves the agent: the call's record does (ringing, talking, wrap-up, idle)."""
    events, originate = events_of("27_preview_agent_first_answered")
    tracker = CallTracker()
    members = MemberTracker(wrapup_s=5.0)
    added = ami.QueueMemberState("QueueMemberAdded", "olive-callbacks", AGENT, "agent801", 1, False, "", False, 0, 0)  # fmt: skip
    members.handle(added, -1.0)
    call_id = originate["channel_id"]
    tracker.originate(call_id, action_id=originate["action_id"], dial_string=AGENT, now=0.0, agent_first=AGENT)
    seen: list[AgentActivity] = []
    end = 0.0
    for t, ev in events:
        for change in tracker.handle(ev, t):
            for moved in members.agent_first(change.record, t):
                seen.append(moved.status.activity)
                assert moved.status.call_id in (call_id, None)
            end = t
    for moved in members.tick(end + 5.0):
        seen.append(moved.status.activity)
    assert seen == [AgentActivity.RINGING, AgentActivity.TALKING, AgentActivity.WRAPUP, AgentActivity.IDLE]


def test_an_agent_who_does_not_answer_is_free_again() -> None:
    events, originate = events_of("30_preview_agent_does_not_answer")
    tracker = CallTracker()
    members = MemberTracker()
    added = ami.QueueMemberState("QueueMemberAdded", "olive-callbacks", NOT_ANSWERING, "agent901", 1, False, "", False, 0, 0)
    members.handle(added, -1.0)
    call_id = originate["channel_id"]
    tracker.originate(call_id, action_id=originate["action_id"], dial_string=NOT_ANSWERING, now=0.0, agent_first=NOT_ANSWERING)
    seen: list[AgentActivity] = []
    for t, ev in events:
        for change in tracker.handle(ev, t):
            seen += [c.status.activity for c in members.agent_first(change.record, t)]
            if change.ended:
                seen += [c.status.activity for c in members.call_ended(call_id, t)]
    assert seen[0] is AgentActivity.RINGING and seen[-1] is AgentActivity.IDLE
    assert AgentActivity.TALKING not in seen


class TestReconcile:
    """A call that ended while olive was away: the dialplan's AstDB result tells ([olive-preview-outcome])."""

    def _gone(self, result: str | None, *, answered: bool = True) -> CallRecord:
        tracker = CallTracker()
        tracker.originate("c1", action_id="a1", dial_string=AGENT, now=0.0, agent_first=AGENT)
        tracker.lost_sight(["c1"])
        results = {"c1": result} if result is not None else {}
        changes = tracker.reconcile([], 50.0, results=results, answers_seen=True)
        assert [c.record.state for c in changes] == [CallState.ENDED]
        return changes[0].record

    def test_connected(self) -> None:
        rec = self._gone(f"CONNECTED|{AGENT}|ANSWER|40")
        assert (rec.outcome, rec.agent_interface, rec.agent_connected_at) == (Outcome.CONNECTED, AGENT, 40.0)

    def test_busy(self) -> None:
        rec = self._gone(f"PREVIEW|{AGENT}|BUSY|40")
        assert (rec.outcome, rec.dial_status, rec.not_placed) == (Outcome.BUSY, "BUSY", False)

    def test_the_agent_hung_up_before_the_dial(self) -> None:
        rec = self._gone(f"PREVIEW|{AGENT}||40")
        assert rec.outcome is Outcome.FAILED and rec.not_placed
        assert rec.detail is not None and rec.detail.startswith("not placed: the agent hung up before the customer was dialed")

    def test_no_result_the_agent_never_answered(self) -> None:
        rec = self._gone(None)
        assert rec.outcome is Outcome.FAILED and rec.not_placed


def test_the_agents_own_dial_of_their_phone_is_not_the_customer() -> None:
    """An agent interface of olive-phones.conf (Local/101@olive-agents) Dial()s the phone from its ;2 half
    before the agent answers: that dial is the agent's, not the customer's."""
    tracker = CallTracker()
    agent = "Local/101@olive-agents"
    tracker.originate("c1", action_id="a1", dial_string=agent, now=0.0, agent_first=agent)
    one = ami.ChannelRef(f"{agent}-00000001;1", "c1", "c1")
    two = ami.ChannelRef(f"{agent}-00000001;2", "c1;2", "c1")
    phone = ami.ChannelRef("PJSIP/101-00000002", "9.3", "c1")
    customer = ami.ChannelRef("Local/+12025552001@olive-test-customers-00000003;1", "9.4", "c1")
    customer2 = ami.ChannelRef("Local/+12025552001@olive-test-customers-00000003;2", "9.5", "c1")
    up, busy = ami.ChannelState.UP, ami.ChannelState.BUSY

    def hangup(ref: ami.ChannelRef, cause: int) -> ami.Hangup:
        return ami.Hangup(ref, cause, "")

    def new(ref: ami.ChannelRef, state: int) -> ami.Newchannel:
        return ami.Newchannel(ref, state, "x", "s")

    def state(ref: ami.ChannelRef, to: int) -> ami.Newstate:
        return ami.Newstate(ref, to, "")

    feed: list[ami.TypedEvent] = [
        new(one, ami.ChannelState.DOWN), new(two, ami.ChannelState.RING),
        ami.DialBegin(None, one),
        new(phone, ami.ChannelState.DOWN), ami.DialBegin(two, phone),
        state(phone, up), ami.DialEnd(two, phone, "ANSWER"), state(two, up), state(one, up),
        ami.DialEnd(None, one, "ANSWER"),
        ami.OriginateResponse("a1", True, 4, f"{agent}-00000001;1", "c1"),
        new(customer, ami.ChannelState.DOWN), new(customer2, ami.ChannelState.RING),
        ami.DialBegin(one, customer),
        state(customer2, busy), ami.DialEnd(one, customer, "BUSY"),
        hangup(customer, 17), hangup(customer2, 17), hangup(one, 16), hangup(two, 16), hangup(phone, 16),
    ]
    ended = [c.record for i, ev in enumerate(feed) for c in tracker.handle(ev, float(i)) if c.ended]
    assert len(ended) == 1
    assert (ended[0].outcome, ended[0].dial_status, ended[0].hangup_cause) == (Outcome.BUSY, "BUSY", 17)
