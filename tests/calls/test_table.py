"""The call-state table, tested the way h11 tests its state machine: kinds in, states out."""

from __future__ import annotations

from olive import ami
from olive.calls import (
    AGENT_MOVES,
    EVENT_SIGNALS,
    TRANSITIONS,
    AgentActivity,
    CallState,
    Signal,
    transition,
)
from olive.calls._table import REST, agent_move

S, C = Signal, CallState


class TestTransition:
    def test_a_call_only_moves_forward(self) -> None:
        for state, row in TRANSITIONS.items():
            for signal, target in row.items():
                assert target.rank >= state.rank, (state, signal, target)

    def test_happy_path(self) -> None:
        state = C.ORIGINATING
        for signal, expected in [
            (S.DIALING, C.RINGING),
            (S.ANSWERED, C.ANSWERED),
            (S.QUEUED, C.QUEUED),
            (S.AGENT_CONNECTED, C.CONNECTED),
            (S.END, C.ENDED),
        ]:
            state = transition(state, signal)
            assert state is expected

    def test_late_signals_keep_the_state(self) -> None:
        # OriginateResponse Success may follow QueueCallerJoin (transcripts 01, 12).
        assert transition(C.QUEUED, S.ANSWERED) is C.QUEUED
        assert transition(C.CONNECTED, S.DIALING) is C.CONNECTED

    def test_events_lost_in_a_reconnect_may_be_skipped(self) -> None:
        assert transition(C.RINGING, S.AGENT_CONNECTED) is C.CONNECTED

    def test_an_ended_call_has_no_row(self) -> None:
        # The tracker forgets a call as it ends, so no signal can reach an ended call.
        assert C.ENDED not in TRANSITIONS
        assert set(TRANSITIONS) == set(CallState) - {C.ENDED}
        assert all(set(row) == set(Signal) for row in TRANSITIONS.values())

    def test_every_live_state_can_end(self) -> None:
        for state in CallState:
            if state is not C.ENDED:
                assert transition(state, S.END) is C.ENDED


class TestEventSignals:
    def test_the_events_that_signal_by_their_type(self) -> None:
        assert {
            ami.Newchannel: S.DIALING,
            ami.DialBegin: S.DIALING,
            ami.QueueCallerJoin: S.QUEUED,
            ami.AgentConnect: S.AGENT_CONNECTED,
        } == EVENT_SIGNALS


class TestAgentMoves:
    def test_a_ring_or_a_call_takes_any_agent(self) -> None:
        for activity in AgentActivity:
            assert agent_move(activity, "AgentCalled") is AgentActivity.RINGING
            assert agent_move(activity, "AgentConnect") is AgentActivity.TALKING

    def test_the_end_of_a_call_applies_only_to_what_it_ends(self) -> None:
        assert agent_move(AgentActivity.TALKING, "AgentComplete") is AgentActivity.WRAPUP
        assert agent_move(AgentActivity.IDLE, "AgentComplete") is None
        assert agent_move(AgentActivity.RINGING, "AgentRingNoAnswer") is REST
        assert agent_move(AgentActivity.TALKING, "AgentRingNoAnswer") is None
        assert agent_move(AgentActivity.WRAPUP, "wrap-up over") is REST
        assert agent_move(AgentActivity.RINGING, "call ended") is REST
        assert agent_move(AgentActivity.TALKING, "call ended") is None

    def test_every_move_names_an_event_or_a_tracker_signal(self) -> None:
        events = {"AgentCalled", "AgentConnect", "AgentRingNoAnswer", "AgentComplete"}
        assert {m for m in AGENT_MOVES if m[0].isupper()} == events | {"QueueMemberRemoved"}
        assert all(hasattr(ami, m) for m in events)
