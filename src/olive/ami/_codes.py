"""Asterisk's numeric codes, named: the numbers AMI sends in Reason, Cause, ChannelState
and Status fields. IntEnums, so a parsed field compares equal to its member."""

from __future__ import annotations

import enum


class OriginateReason(enum.IntEnum):
    """OriginateResponse ``Reason``: the AST_CONTROL_* code of the last frame the dial saw.

    Which one a failure gives depends on the channel type (a PJSIP busy is 0 with DialStatus
    BUSY and Cause 17, a Local busy is 5), so it is one fact among several (calls/_classify)."""

    NOTHING = 0  # no frame: the channel could not be made, or the dial failed before any
    HANGUP = 1  # AST_CONTROL_HANGUP: the far end hung up before answering
    RING = 2  # AST_CONTROL_RING
    RINGING = 3  # AST_CONTROL_RINGING: it was still ringing when the dial timed out
    ANSWERED = 4  # AST_CONTROL_ANSWER
    BUSY = 5  # AST_CONTROL_BUSY
    CONGESTION = 8  # AST_CONTROL_CONGESTION


class HangupCause(enum.IntEnum):
    """Hangup ``Cause``: a Q.850 cause code (Asterisk's AST_CAUSE_*), those olive meets."""

    NOT_DEFINED = 0
    UNALLOCATED = 1  # unallocated (unassigned) number
    NO_ROUTE_TRANSIT_NET = 2
    NO_ROUTE_DESTINATION = 3
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19  # alerted, no answer
    SUBSCRIBER_ABSENT = 20
    CALL_REJECTED = 21
    NUMBER_CHANGED = 22
    ANSWERED_ELSEWHERE = 26
    DESTINATION_OUT_OF_ORDER = 27
    INVALID_NUMBER_FORMAT = 28
    NORMAL_UNSPECIFIED = 31
    NORMAL_CIRCUIT_CONGESTION = 34
    NETWORK_OUT_OF_ORDER = 38
    NORMAL_TEMPORARY_FAILURE = 41
    SWITCH_CONGESTION = 42
    REQUESTED_CHAN_UNAVAIL = 44
    RESOURCE_UNAVAILABLE = 47
    INTERWORKING = 127


#: Asterisk's Cause-txt for each cause (ast_cause2str), as a Hangup event carries it.
CAUSE_TEXT: dict[int, str] = {
    HangupCause.NOT_DEFINED: "Unknown",
    HangupCause.UNALLOCATED: "Unallocated (unassigned) number",
    HangupCause.NO_ROUTE_DESTINATION: "No route to destination",
    HangupCause.NORMAL_CLEARING: "Normal Clearing",
    HangupCause.USER_BUSY: "User busy",
    HangupCause.NO_USER_RESPONSE: "No user responding",
    HangupCause.NO_ANSWER: "User alerting, no answer",
    HangupCause.SUBSCRIBER_ABSENT: "Subscriber absent",
    HangupCause.CALL_REJECTED: "Call Rejected",
    HangupCause.ANSWERED_ELSEWHERE: "Answered elsewhere",
    HangupCause.DESTINATION_OUT_OF_ORDER: "Destination out of order",
    HangupCause.INVALID_NUMBER_FORMAT: "Invalid number format",
    HangupCause.NORMAL_UNSPECIFIED: "Normal, unspecified",
    HangupCause.NORMAL_CIRCUIT_CONGESTION: "Circuit/channel congestion",
    HangupCause.NETWORK_OUT_OF_ORDER: "Network out of order",
    HangupCause.NORMAL_TEMPORARY_FAILURE: "Temporary failure",
    HangupCause.SWITCH_CONGESTION: "Switching equipment congestion",
    HangupCause.INTERWORKING: "Interworking, unspecified",
}


def cause_text(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


class ChannelState(enum.IntEnum):
    """A channel's ``ChannelState`` (Newchannel, Newstate, ...): Asterisk's AST_STATE_*."""

    DOWN = 0
    RSRVD = 1
    OFFHOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7

    @property
    def desc(self) -> str:
        """``ChannelStateDesc`` as Asterisk spells it."""
        return _STATE_DESC[self]


_STATE_DESC = {
    ChannelState.DOWN: "Down",
    ChannelState.RSRVD: "Rsrvd",
    ChannelState.OFFHOOK: "OffHook",
    ChannelState.DIALING: "Dialing",
    ChannelState.RING: "Ring",
    ChannelState.RINGING: "Ringing",
    ChannelState.UP: "Up",
    ChannelState.BUSY: "Busy",
}


class DeviceState(enum.IntEnum):
    """A queue member's device ``Status`` (QueueMemberStatus, QueueMember): AST_DEVICE_*.

    A Local-channel member reads INUSE while ringing, never RINGING (transcript 11)."""

    UNKNOWN = 0
    NOT_INUSE = 1
    INUSE = 2
    BUSY = 3
    INVALID = 4
    UNAVAILABLE = 5
    RINGING = 6
    RINGINUSE = 7
    ONHOLD = 8


__all__ = ["CAUSE_TEXT", "ChannelState", "DeviceState", "HangupCause", "OriginateReason", "cause_text"]
