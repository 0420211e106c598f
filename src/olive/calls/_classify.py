"""Turning what Asterisk said about a call into one outcome.

No single field is enough (transcripts 02, 09, 15): a PJSIP busy is
OriginateResponse Reason 0 with DialStatus BUSY and Cause 17, while a Local
busy is Reason 5. So the outcome is decided from every fact together, once
the call has ended, whatever order the facts arrived in. Precedence, most
specific first: olive's own cancel, the dial's DialStatus, the far leg's
Q.850 cause, then the OriginateResponse Reason.

Answering-machine detection (the dialplan's [olive-amd]): an answered call
that AMD called MACHINE (or NOTSURE, when the plan treats that as a machine)
and that never joined the queue is MACHINE, whatever order its UserEvent,
VarSet, OriginateResponse and hangups came in. A machine the plan sends to an
agent anyway joins the queue and is classified like any answer: CONNECTED,
or ABANDONED if no agent took it (olive cannot know no person was there).

Agentless calls (the dialplan's [olive-broadcast], which sets OLIVE_AGENTLESS):
an answered call that never joined the queue is MESSAGE (the plan's message
played, a key maybe read), whatever order its VarSets, UserEvent and hangups
came in; one whose key put it through to the queue is classified like any
answer (CONNECTED, or ABANDONED if no agent took it within the connect limit).

Preview mode, agent first ([olive-preview]): the Originate rings the agent and
only the agent's answer dials the customer, with Dial(). The customer's
outcome comes from that dial alone, by the same precedence (DialStatus ANSWER
is CONNECTED to that agent; BUSY, NOANSWER, CONGESTION, CHANUNAVAIL; the
customer leg's cause; CANCEL when the agent hung up first; CHANUNAVAIL with the
customer's Local legs created but never dialed is a number with no extension,
as transcript 07 is for the normal path). The Originate's
Reason then tells about the agent, not the customer: an agent who did not
answer (or hung up before the dial) means no customer was dialed at all, an
outcome of its own (``AGENT_NOT_REACHED``) that the tracker marks not placed.
"""

from __future__ import annotations

from dataclasses import dataclass

from olive.ami import HangupCause as Cause
from olive.ami import OriginateReason as Reason
from olive.calls._model import AbandonReason, Outcome

UNKNOWN_WHY = "outcome unknown"  # ended unseen with nothing to tell what happened
#: Agent first: the customer was never dialed (the agent's phone did not answer, or hung up first).
AGENT_NOT_REACHED = "the agent did not answer: the customer was not dialed"
AGENT_LEFT_FIRST = "the agent hung up before the customer was dialed"
AMD_MACHINE = frozenset({"MACHINE", "NOTSURE"})  # verdicts that can keep a call from the queue

_DIAL_STATUS = {
    "BUSY": Outcome.BUSY,
    "NOANSWER": Outcome.NO_ANSWER,
    "CONGESTION": Outcome.CONGESTION,
    "CHANUNAVAIL": Outcome.FAILED,
    "INVALIDARGS": Outcome.FAILED,
}

# Q.850 cause codes, grouped by what they mean for a dialer.
_CAUSE: dict[int, Outcome] = {
    Cause.UNALLOCATED: Outcome.INVALID_NUMBER,
    Cause.NO_ROUTE_TRANSIT_NET: Outcome.INVALID_NUMBER,
    Cause.NO_ROUTE_DESTINATION: Outcome.INVALID_NUMBER,
    Cause.NUMBER_CHANGED: Outcome.INVALID_NUMBER,
    Cause.INVALID_NUMBER_FORMAT: Outcome.INVALID_NUMBER,
    Cause.USER_BUSY: Outcome.BUSY,
    Cause.CALL_REJECTED: Outcome.BUSY,  # the callee declined
    Cause.NO_USER_RESPONSE: Outcome.NO_ANSWER,
    Cause.NO_ANSWER: Outcome.NO_ANSWER,  # alerted, no answer
    Cause.SUBSCRIBER_ABSENT: Outcome.NO_ANSWER,
    Cause.NORMAL_CIRCUIT_CONGESTION: Outcome.CONGESTION,
    Cause.NETWORK_OUT_OF_ORDER: Outcome.CONGESTION,
    Cause.NORMAL_TEMPORARY_FAILURE: Outcome.CONGESTION,
    Cause.SWITCH_CONGESTION: Outcome.CONGESTION,
    Cause.REQUESTED_CHAN_UNAVAIL: Outcome.CONGESTION,
    Cause.RESOURCE_UNAVAILABLE: Outcome.CONGESTION,
}

_REASON: dict[int, Outcome] = {
    Reason.BUSY: Outcome.BUSY,
    Reason.CONGESTION: Outcome.CONGESTION,
    Reason.RINGING: Outcome.NO_ANSWER,  # still ringing when the dial timed out
    Reason.HANGUP: Outcome.NO_ANSWER,  # the far end hung up before answering
}


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about an ended call, in no particular order of arrival."""

    answered: bool
    connected: bool
    cancelled_by_olive: bool
    channels_seen: bool
    dial_began: bool
    dial_status: str | None
    far_cause: int | None
    originate_reason: int | None
    queued: bool
    queue_abandoned: bool
    queue_status: str | None
    hangup_before_abandon: bool
    untracked: bool = False  # ended while olive could not see it
    amd_status: str | None = None  # AMDSTATUS, when the dialplan ran AMD()
    agentless: bool = False  # the answered call ran [olive-broadcast]
    ivr_key: str | None = None  # the key it read, if any
    agent_first: bool = False  # preview mode: the agent was called first ([olive-preview])
    agent_answered: bool = False  # ...and answered (so the dialplan could dial the customer)
    known_unanswered: bool = False  # gone unseen, but an answer would have left a result (AstDB)

    @property
    def customer_not_dialed(self) -> bool:
        """Agent first, and nothing says the customer was dialed: no DialBegin, no DIALSTATUS."""
        return self.agent_first and not self.dial_began and self.dial_status is None and not self.answered


def classify(f: Facts) -> tuple[Outcome, AbandonReason | None, str]:
    """The outcome, the abandon reason (for ABANDONED) and a one-line explanation."""
    if f.connected:
        if f.agent_first:
            return Outcome.CONNECTED, None, "the customer answered the agent's Dial() (DialStatus ANSWER)"
        return Outcome.CONNECTED, None, "an agent answered (AgentConnect)"
    if f.customer_not_dialed:
        if f.cancelled_by_olive:
            return Outcome.CANCELLED, None, "olive hung up before the customer was dialed"
        if f.untracked and not f.agent_answered and not f.known_unanswered:
            return Outcome.FAILED, None, UNKNOWN_WHY
        return Outcome.FAILED, None, AGENT_LEFT_FIRST if f.agent_answered else AGENT_NOT_REACHED
    if f.answered and not f.queued and (f.amd_status or "").upper() in AMD_MACHINE:
        return Outcome.MACHINE, None, f"AMD said {f.amd_status!s}: not offered to an agent"
    if f.answered and not f.queued and f.agentless:
        key = f"key {f.ivr_key} pressed" if f.ivr_key else "no key pressed"
        return Outcome.MESSAGE, None, f"agentless: the message played, {key}"
    if f.answered:
        return Outcome.ABANDONED, _abandon_reason(f), "answered, but no agent took the call"
    if f.cancelled_by_olive:
        return Outcome.CANCELLED, None, "olive hung up before an answer"
    if f.agent_first and f.dial_status == "CHANUNAVAIL" and not f.dial_began and f.channels_seen:
        # Local/NUMBER@context with no such extension: Dial() created the legs, never called them (transcript 32).
        return Outcome.INVALID_NUMBER, None, "no such number: Dial() created the customer's channel but could not call it"
    if f.dial_status in _DIAL_STATUS:
        return _DIAL_STATUS[f.dial_status], None, f"DialStatus {f.dial_status}"
    if f.far_cause in _CAUSE:
        return _CAUSE[f.far_cause], None, f"hangup cause {f.far_cause}"
    if f.originate_reason in _REASON:
        assert f.originate_reason is not None
        return _REASON[f.originate_reason], None, f"OriginateResponse Reason {f.originate_reason}"
    if f.dial_status == "CANCEL":
        return Outcome.NO_ANSWER, None, "the dial was cancelled before an answer"
    if f.untracked:
        return Outcome.FAILED, None, UNKNOWN_WHY
    if f.channels_seen and not f.dial_began and f.originate_reason == Reason.NOTHING:
        # Local/NUMBER@context with no such extension: legs exist, nothing is dialed (transcript 07).
        return Outcome.INVALID_NUMBER, None, "no such number: the channel never dialed"
    if not f.channels_seen:
        return Outcome.FAILED, None, "Asterisk could not create the channel"
    return Outcome.FAILED, None, "the call failed for no reason Asterisk reported"


def _abandon_reason(f: Facts) -> AbandonReason:
    if f.untracked:
        return AbandonReason.UNKNOWN
    if (f.queue_status or "").upper() == "TIMEOUT":
        return AbandonReason.TIMEOUT
    if not f.queued:
        return AbandonReason.NOT_QUEUED
    if f.hangup_before_abandon or not f.queue_abandoned:
        return AbandonReason.CALLER_HANGUP
    # QueueCallerAbandon while the customer was still there: the queue timed out
    # (transcript 12), even when a filtered login hid QUEUESTATUS.
    return AbandonReason.TIMEOUT
