"""Following calls and agents from AMI events: pure, with time passed in."""

from olive.calls._classify import Facts, classify
from olive.calls._legs import expected_channel_prefix
from olive.calls._members import AgentActivity, AgentChange, AgentState, AgentStatus, MemberTracker
from olive.calls._model import (
    FINAL_OUTCOMES,
    LIVE_ANSWERS,
    NOT_PLACED,
    RETRY_OUTCOMES,
    UNKNOWN_OUTCOME,
    AbandonReason,
    AgentRing,
    CallRecord,
    CallState,
    Outcome,
)
from olive.calls._table import TRANSITIONS, IllegalTransition, Signal, transition
from olive.calls._tracker import CallChange, CallTracker

__all__ = [
    "FINAL_OUTCOMES",
    "LIVE_ANSWERS",
    "NOT_PLACED",
    "RETRY_OUTCOMES",
    "TRANSITIONS",
    "UNKNOWN_OUTCOME",
    "AbandonReason",
    "AgentActivity",
    "AgentChange",
    "AgentRing",
    "AgentState",
    "AgentStatus",
    "CallChange",
    "CallRecord",
    "CallState",
    "CallTracker",
    "Facts",
    "IllegalTransition",
    "MemberTracker",
    "Outcome",
    "Signal",
    "classify",
    "expected_channel_prefix",
    "transition",
]
