"""What olive knows about one attempt: its state, outcome and timings."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# How the record of an Originate Asterisk refused for a passing reason (shutting down) begins:
# no call was made, so it is no attempt (retry rules and attempt counts leave it out).
NOT_PLACED = "not placed"


class CallState(enum.Enum):
    """Progress of one attempt. Ordered: a call only moves forward."""

    ORIGINATING = "originating"  # Originate sent, no channel seen yet
    RINGING = "ringing"  # the customer's phone is being dialed
    ANSWERED = "answered"  # a person (or machine) picked up
    QUEUED = "queued"  # waiting in the campaign's queue for an agent
    CONNECTED = "connected"  # an agent answered: AgentConnect
    ENDED = "ended"  # every channel is gone; the outcome is final

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {s: i for i, s in enumerate(CallState)}


class Outcome(enum.Enum):
    CONNECTED = "CONNECTED"  # answered and talked to an agent
    ABANDONED = "ABANDONED"  # answered, but no agent took it (customer hung up or connect limit)
    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    CONGESTION = "CONGESTION"  # network or trunk could not carry the call
    INVALID_NUMBER = "INVALID_NUMBER"
    FAILED = "FAILED"  # olive or Asterisk could not place the call
    CANCELLED = "CANCELLED"  # olive hung it up before it was answered (e.g. a forced stop)
    MACHINE = "MACHINE"  # AMD said answering machine (or NOTSURE, per plan) and no agent was offered it
    MESSAGE = "MESSAGE"  # agentless: answered, the plan's message played (a key maybe read), never queued

    @property
    def live_answer(self) -> bool:
        """A person answered: the denominator of the legal abandon rate. A MACHINE is not one
        (AMD's estimated people among machines are counted apart, as a share)."""
        return self in (Outcome.CONNECTED, Outcome.ABANDONED)

    @property
    def final(self) -> bool:
        """The contact is done: no retry rule, the plan's or the default, tries it again."""
        return self is Outcome.CONNECTED


#: The outcomes that are live answers (:attr:`Outcome.live_answer`), and those that are final.
LIVE_ANSWERS: frozenset[Outcome] = frozenset(o for o in Outcome if o.live_answer)
FINAL_OUTCOMES: frozenset[Outcome] = frozenset(o for o in Outcome if o.final)
#: The retry-rule key of a FAILED attempt whose real outcome olive could not learn (it ended
#: while olive could not see it, maybe answered): not an outcome of its own.
UNKNOWN_OUTCOME = "UNKNOWN"
#: The keys a plan's retry rules may have: every outcome that is not final, and UNKNOWN.
RETRY_OUTCOMES: tuple[str, ...] = (*(o.value for o in Outcome if not o.final), UNKNOWN_OUTCOME)
#: The default retry rule of each of them, (max_attempts, delay_s), for a plan that has none
#: of its own: at most max_attempts attempts of a number may end so (0: never try it again).
DEFAULT_RETRY: dict[str, tuple[int, int]] = {
    Outcome.BUSY.value: (3, 300),
    Outcome.NO_ANSWER.value: (3, 3600),
    Outcome.CONGESTION.value: (3, 120),
    Outcome.FAILED.value: (2, 600),
    Outcome.ABANDONED.value: (2, 3600),
    Outcome.INVALID_NUMBER.value: (0, 0),
    Outcome.CANCELLED.value: (1, 60),
    # An answering machine: try twice more, four hours later each time (another part of
    # the day, when the person may be in); the third machine stops the number.
    Outcome.MACHINE.value: (3, 14400),
    # Agentless: the message played to someone; once is enough unless the plan says otherwise.
    Outcome.MESSAGE.value: (0, 0),
    UNKNOWN_OUTCOME: (0, 0),
}


class AgentState(enum.Enum):
    """An agent's state as olive keeps it (``agents.state``) and shows it: what the agent
    may be given. :class:`AgentActivity` is what the queue events say the member is doing."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    PAUSED = "paused"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class AgentActivity(enum.Enum):
    LOGGED_OUT = "logged_out"  # in no queue
    IDLE = "idle"  # ready for a call
    RINGING = "ringing"  # the queue is offering it a call
    TALKING = "talking"  # connected to a customer
    WRAPUP = "wrapup"  # after-call work
    PAUSED = "paused"
    BUSY = "busy"  # its device is in use by a call olive did not give it
    UNAVAILABLE = "unavailable"  # its device is unreachable (phone unregistered)


class AbandonReason(enum.Enum):
    TIMEOUT = "timeout"  # the connect limit (Queue() timeout) dropped it: QUEUESTATUS=TIMEOUT
    CALLER_HANGUP = "caller_hangup"  # the customer hung up while waiting
    NOT_QUEUED = "not_queued"  # answered but never reached the queue
    UNKNOWN = "unknown"  # ended while olive could not see it (AMI disconnected)


@dataclass(frozen=True, slots=True)
class AgentRing:
    """An agent the queue rang for this call."""

    interface: str
    member_name: str
    at: float
    ring_ms: int | None = None  # set when the agent did not answer (AgentRingNoAnswer)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """An immutable snapshot of one attempt, as the store keeps it."""

    call_id: str
    state: CallState
    dial_string: str
    action_id: str | None
    originated_at: float
    outcome: Outcome | None = None
    detail: str | None = None
    uniqueid: str | None = None
    linkedid: str | None = None
    channel: str | None = None
    originate_reason: int | None = None
    dial_status: str | None = None
    hangup_cause: int | None = None
    hangup_cause_txt: str | None = None
    ringing_at: float | None = None
    answered_at: float | None = None
    queued_at: float | None = None
    queue: str | None = None
    left_queue_at: float | None = None  # QueueCallerAbandon or QueueCallerLeave
    agent_connected_at: float | None = None
    agent_interface: str | None = None
    agent_member_name: str | None = None
    ended_at: float | None = None
    abandon_reason: AbandonReason | None = None
    queue_status: str | None = None
    drop_message_played: bool | None = None
    agents_rung: tuple[AgentRing, ...] = ()
    asterisk_hold_time_s: int | None = None  # AgentConnect/QueueCallerAbandon HoldTime (whole seconds)
    asterisk_talk_time_s: int | None = None  # AgentComplete TalkTime (whole seconds)
    outcome_unknown: bool = False  # FAILED only because olive could not learn what happened (maybe answered)
    not_placed: bool = False  # Asterisk refused the Originate for a passing reason (shutting down): no call was made
    amd_status: str | None = None  # app_amd's AMDSTATUS: MACHINE, HUMAN, NOTSURE or HANGUP
    amd_cause: str | None = None  # app_amd's AMDCAUSE, e.g. LONGGREETING-1500-1500
    amd_at: float | None = None  # when olive first learned AMD's verdict
    agentless: bool = False  # the answered call ran [olive-broadcast] (an agentless plan's message)
    ivr_key: str | None = None  # the key Read() took in [olive-broadcast] (None: none)
    ivr_status: str | None = None  # Read()'s READSTATUS: OK, TIMEOUT, HANGUP, ...

    @property
    def ring_s(self) -> float | None:
        """How long the customer's phone rang: from the dial (first channel) to the answer or the end."""
        end = self.answered_at if self.answered_at is not None else self.ended_at
        start = self.ringing_at if self.ringing_at is not None else self.originated_at
        return None if end is None else max(0.0, end - start)

    @property
    def customer_wait_s(self) -> float | None:
        """How long the answered customer waited for an agent: to the connect, or until the
        queue let go (hang-up or connect-limit drop; a drop message plays after that)."""
        if self.answered_at is None:
            return None
        end = self.agent_connected_at
        if end is None and self.outcome is Outcome.ABANDONED:
            end = self.left_queue_at if self.left_queue_at is not None else self.ended_at
        return None if end is None else max(0.0, end - self.answered_at)

    @property
    def talk_s(self) -> float | None:
        if self.agent_connected_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.agent_connected_at)

    @property
    def agents_no_answer(self) -> tuple[AgentRing, ...]:
        return tuple(r for r in self.agents_rung if r.ring_ms is not None)
