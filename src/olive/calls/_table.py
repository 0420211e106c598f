"""The call and agent state machines, each as tables (h11's ``_state.py``).

The call: which AMI event gives which :class:`Signal` (:data:`EVENT_SIGNALS`,
:data:`CHANNEL_STATE_SIGNALS`, :data:`DIAL_STATUS_SIGNALS`), and where each
signal takes each state (:data:`TRANSITIONS`). Late signals (AMI does not
promise order: an OriginateResponse Success can follow QueueCallerJoin) are
legal and keep the state; signals may skip states (events lost while AMI was
disconnected). ``ENDED`` has no row: the tracker forgets a call when it ends
(the one place that signals END), so no event can reach an ended call and
there is nothing to guard (tests/calls/test_table.py shows events after the end
change nothing). ``docs/calls.md`` draws its diagram from :data:`TRANSITIONS`.

The agent (queue member): which event moves it to which activity
(:data:`AGENT_MOVES`); ``REST`` is "what its pause flag and device state say"
(calls/_members ``_resting``).
"""

from __future__ import annotations

import enum
from typing import Final

from olive import ami
from olive.calls._model import AgentActivity, CallState


class Signal(enum.Enum):
    DIALING = "dialing"  # a channel of the call exists / rings
    ANSWERED = "answered"  # the customer picked up
    QUEUED = "queued"  # QueueCallerJoin
    AGENT_CONNECTED = "agent_connected"  # AgentConnect
    END = "end"  # every channel gone and the Originate answered: the outcome is final


S = Signal

#: Events whose type alone gives the call its signal (on the customer's side of the call).
EVENT_SIGNALS: Final[dict[type[ami.TypedEvent], Signal]] = {
    ami.Newchannel: S.DIALING,
    ami.DialBegin: S.DIALING,
    ami.QueueCallerJoin: S.QUEUED,  # after ANSWERED: a caller in the queue has answered
    ami.AgentConnect: S.AGENT_CONNECTED,
}
#: Newstate: the customer's leg (or the trunk leg of a Local dial) changed state.
CHANNEL_STATE_SIGNALS: Final[dict[int, Signal]] = {
    ami.ChannelState.RINGING: S.DIALING,
    ami.ChannelState.UP: S.ANSWERED,
}
#: DialEnd of the dial towards the customer; OriginateResponse Success is ANSWERED too.
DIAL_STATUS_SIGNALS: Final[dict[str, Signal]] = {"ANSWER": S.ANSWERED}

ORIG, R, A, Q, C, E = (
    CallState.ORIGINATING,
    CallState.RINGING,
    CallState.ANSWERED,
    CallState.QUEUED,
    CallState.CONNECTED,
    CallState.ENDED,
)

TRANSITIONS: Final[dict[CallState, dict[Signal, CallState]]] = {
    ORIG: {S.DIALING: R, S.ANSWERED: A, S.QUEUED: Q, S.AGENT_CONNECTED: C, S.END: E},
    R: {S.DIALING: R, S.ANSWERED: A, S.QUEUED: Q, S.AGENT_CONNECTED: C, S.END: E},
    A: {S.DIALING: A, S.ANSWERED: A, S.QUEUED: Q, S.AGENT_CONNECTED: C, S.END: E},
    Q: {S.DIALING: Q, S.ANSWERED: Q, S.QUEUED: Q, S.AGENT_CONNECTED: C, S.END: E},
    # A connected call may re-enter a queue (an agent transfers it): it stays connected.
    C: {S.DIALING: C, S.ANSWERED: C, S.QUEUED: C, S.AGENT_CONNECTED: C, S.END: E},
}


def transition(state: CallState, signal: Signal) -> CallState:
    """The state ``signal`` takes a live call in ``state`` to."""
    return TRANSITIONS[state][signal]


class Rest(enum.Enum):
    REST = "rest"  # no call of olive's: paused, busy, unavailable or idle, as the member says


REST: Final = Rest.REST
_ANY = frozenset(AgentActivity)
_RINGING = frozenset({AgentActivity.RINGING})
_TALKING = frozenset({AgentActivity.TALKING})
_WRAPUP = frozenset({AgentActivity.WRAPUP})

#: The agent machine: event (or tracker signal) -> (the activities it applies in, where it goes).
#: ``AgentComplete`` goes to WRAPUP when the campaign has after-call work, else to REST.
AGENT_MOVES: Final[dict[str, tuple[frozenset[AgentActivity], AgentActivity | Rest]]] = {
    "AgentCalled": (_ANY, AgentActivity.RINGING),
    "AgentConnect": (_ANY, AgentActivity.TALKING),
    "AgentRingNoAnswer": (_RINGING, REST),
    "AgentComplete": (_TALKING, AgentActivity.WRAPUP),
    "wrap-up over": (_WRAPUP, REST),
    "call ended": (_RINGING, REST),  # the customer hung up while it rang
    "QueueMemberRemoved": (_ANY, AgentActivity.LOGGED_OUT),  # from its last queue
    # Preview mode, agent first: no queue event tells; the call tracker's record does.
    "agent-first ring": (_ANY, AgentActivity.RINGING),  # olive's Originate rings the agent's phone
    "agent-first connect": (_ANY, AgentActivity.TALKING),  # the customer answered the agent's Dial()
    "agent-first complete": (_TALKING, AgentActivity.WRAPUP),  # that call is over
}


def agent_move(activity: AgentActivity, move: str) -> AgentActivity | Rest | None:
    """Where ``move`` takes an agent that is ``activity``; None: it does not apply."""
    applies, target = AGENT_MOVES[move]
    return target if activity in applies else None


__all__ = [
    "AGENT_MOVES",
    "CHANNEL_STATE_SIGNALS",
    "DIAL_STATUS_SIGNALS",
    "EVENT_SIGNALS",
    "REST",
    "TRANSITIONS",
    "Rest",
    "Signal",
    "agent_move",
    "transition",
]
