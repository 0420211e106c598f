"""Every call-state transition lives here, as a table.

Rows are (state, signal); the cell is the next state. A signal missing
from a state's row is illegal: :func:`transition` raises
:class:`IllegalTransition` and the call is left unchanged. Late signals
(AMI does not promise order: an OriginateResponse Success can follow
QueueCallerJoin) are legal and keep the state. ``docs/calls.md`` draws its
diagram from this table.
"""

from __future__ import annotations

import enum

from olive.calls._model import CallState


class Signal(enum.Enum):
    DIALING = "dialing"  # a channel of the call exists / rings
    ANSWERED = "answered"  # the customer picked up
    QUEUED = "queued"  # QueueCallerJoin
    AGENT_CONNECTED = "agent_connected"  # AgentConnect
    END = "end"  # every channel gone and the Originate answered: the outcome is final


class IllegalTransition(Exception):
    def __init__(self, state: CallState, signal: Signal) -> None:
        self.state, self.signal = state, signal
        super().__init__(f"{signal.value} is not possible in state {state.value}")


ORIG, R, A, Q, C, E = (
    CallState.ORIGINATING,
    CallState.RINGING,
    CallState.ANSWERED,
    CallState.QUEUED,
    CallState.CONNECTED,
    CallState.ENDED,
)
S = Signal

TRANSITIONS: dict[CallState, dict[Signal, CallState]] = {
    ORIG: {S.DIALING: R, S.ANSWERED: A, S.QUEUED: Q, S.AGENT_CONNECTED: C, S.END: E},
    R: {S.DIALING: R, S.ANSWERED: A, S.QUEUED: Q, S.AGENT_CONNECTED: C, S.END: E},
    A: {S.DIALING: A, S.ANSWERED: A, S.QUEUED: Q, S.AGENT_CONNECTED: C, S.END: E},
    Q: {S.DIALING: Q, S.ANSWERED: Q, S.QUEUED: Q, S.AGENT_CONNECTED: C, S.END: E},
    # A connected call may re-enter a queue (an agent transfers it): it stays connected.
    C: {S.DIALING: C, S.ANSWERED: C, S.QUEUED: C, S.AGENT_CONNECTED: C, S.END: E},
    E: {},
}


def transition(state: CallState, signal: Signal) -> CallState:
    try:
        return TRANSITIONS[state][signal]
    except KeyError:
        raise IllegalTransition(state, signal) from None
