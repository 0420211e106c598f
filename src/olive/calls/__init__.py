"""Following calls and agents from AMI events: pure, with time passed in."""

from olive.calls._classify import Facts, classify
from olive.calls._legs import expected_channel_prefix
from olive.calls._members import AgentChange, AgentStatus, MemberTracker
from olive.calls._model import (
    DEFAULT_RETRY,
    FINAL_OUTCOMES,
    LIVE_ANSWERS,
    NOT_PLACED,
    RETRY_OUTCOMES,
    UNKNOWN_OUTCOME,
    AbandonReason,
    AgentActivity,
    AgentRing,
    AgentState,
    CallRecord,
    CallState,
    Outcome,
)
from olive.calls._table import AGENT_MOVES, EVENT_SIGNALS, TRANSITIONS, Signal, transition
from olive.calls._tracker import CallChange, CallTracker

__all__ = [
    "AGENT_MOVES",
    "DEFAULT_RETRY",
    "EVENT_SIGNALS",
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
    "MemberTracker",
    "Outcome",
    "Signal",
    "classify",
    "expected_channel_prefix",
    "transition",
]
