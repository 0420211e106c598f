"""The call-state table, tested the way h11 tests its state machine: kinds in, states out."""

from __future__ import annotations

import pytest

from olive.calls import TRANSITIONS, CallState, IllegalTransition, Signal, transition

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

    @pytest.mark.parametrize("signal", list(Signal))
    def test_nothing_follows_the_end(self, signal: Signal) -> None:
        with pytest.raises(IllegalTransition) as err:
            transition(C.ENDED, signal)
        assert err.value.state is C.ENDED and err.value.signal is signal

    def test_every_live_state_can_end(self) -> None:
        for state in CallState:
            if state is not C.ENDED:
                assert transition(state, S.END) is C.ENDED
