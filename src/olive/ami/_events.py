"""Typed views of the AMI events a dialer acts on.

:func:`parse_event` turns a raw :class:`Event` into one of these frozen
dataclasses, or returns None for an event olive does not model (the raw
event is still there for whoever wants it). A modelled event with a missing
or non-numeric field raises :class:`AMIProtocolError` naming the field, so
a bad message is reported and skipped rather than half-applied.

Units follow Asterisk and are named in the field: AgentConnect's times are
seconds, AgentRingNoAnswer's RingTime is milliseconds (transcripts 01, 11).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from olive.ami._errors import AMIProtocolError
from olive.ami._messages import Event

UNKNOWN = "<unknown>"


def _req(event: Event, name: str) -> str:
    value = event.get(name)
    if value is None:
        raise AMIProtocolError(f"{event.name} event without {name}: {dict(event.headers)!r}")
    return value


def _opt(event: Event, name: str) -> str | None:
    value = event.get(name)
    return None if value in (None, "", UNKNOWN) else value


def _int(event: Event, name: str, default: int | None = None) -> int:
    value = event.get(name)
    if value in (None, ""):
        if default is not None:
            return default
        raise AMIProtocolError(f"{event.name} event without {name}")
    assert value is not None
    try:
        return int(value)
    except ValueError:
        raise AMIProtocolError(f"{event.name} event has non-numeric {name}: {value!r}") from None


def _bool(event: Event, name: str) -> bool:
    return (event.get(name) or "").lower() in ("1", "true", "yes")


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """The channel an event is about: name, Uniqueid and the call tree's Linkedid."""

    channel: str
    uniqueid: str
    linkedid: str

    @classmethod
    def of(cls, event: Event, prefix: str = "") -> ChannelRef:
        return cls(
            channel=_req(event, prefix + "Channel"),
            uniqueid=_req(event, prefix + "Uniqueid"),
            linkedid=event.get(prefix + "Linkedid") or _req(event, prefix + "Uniqueid"),
        )

    @classmethod
    def maybe(cls, event: Event, prefix: str = "") -> ChannelRef | None:
        if event.get(prefix + "Channel") is None or event.get(prefix + "Uniqueid") is None:
            return None
        return cls.of(event, prefix)


@dataclass(frozen=True, slots=True)
class OriginateResponse:
    action_id: str | None
    success: bool
    reason: int
    channel: str
    uniqueid: str | None  # None when Asterisk says <unknown> (a failure without ChannelId)


@dataclass(frozen=True, slots=True)
class Newchannel:
    ref: ChannelRef
    state: int
    context: str
    exten: str


@dataclass(frozen=True, slots=True)
class Newstate:
    ref: ChannelRef
    state: int
    state_desc: str


@dataclass(frozen=True, slots=True)
class DialBegin:
    caller: ChannelRef | None  # None for the Originate's own dial
    dest: ChannelRef


@dataclass(frozen=True, slots=True)
class DialEnd:
    caller: ChannelRef | None
    dest: ChannelRef
    dial_status: str


@dataclass(frozen=True, slots=True)
class Hangup:
    ref: ChannelRef
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class HangupRequest:
    """HangupRequest (``soft=False``) or SoftHangupRequest: a hangup is on its way."""

    ref: ChannelRef
    cause: int
    soft: bool


@dataclass(frozen=True, slots=True)
class VarSet:
    ref: ChannelRef
    variable: str
    value: str


@dataclass(frozen=True, slots=True)
class UserEvent:
    """UserEvent(name,Key: Value,...) from the dialplan (the ``user`` class): the channel,
    the event's name and its body's fields, in order."""

    ref: ChannelRef
    name: str
    fields: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        low = key.lower()
        return next((v for k, v in self.fields if k.lower() == low), None)


@dataclass(frozen=True, slots=True)
class BridgeEnter:
    ref: ChannelRef
    bridge_id: str


@dataclass(frozen=True, slots=True)
class QueueCallerJoin:
    ref: ChannelRef
    queue: str
    position: int


@dataclass(frozen=True, slots=True)
class QueueCallerLeave:
    ref: ChannelRef
    queue: str


@dataclass(frozen=True, slots=True)
class QueueCallerAbandon:
    ref: ChannelRef
    queue: str
    hold_time_s: int


@dataclass(frozen=True, slots=True)
class AgentCalled:
    ref: ChannelRef
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str


@dataclass(frozen=True, slots=True)
class AgentConnect:
    ref: ChannelRef
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str
    hold_time_s: int
    ring_time_s: int


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer:
    ref: ChannelRef
    dest: ChannelRef
    queue: str
    interface: str
    member_name: str
    ring_time_ms: int


@dataclass(frozen=True, slots=True)
class AgentComplete:
    """A member's queue call is over. Asterisk may send it without the caller's
    fields, and even without the agent leg's Dest* fields (transcript 18): the
    member is always named by Queue and Interface."""

    ref: ChannelRef | None
    queue: str
    interface: str
    member_name: str
    hold_time_s: int
    talk_time_s: int
    reason: str  # "agent", "caller" or "transfer"
    dest: ChannelRef | None = None  # the agent's leg; its Linkedid is the call's


@dataclass(frozen=True, slots=True)
class QueueMemberState:
    """QueueMember{Added,Removed,Status,Pause} events and QueueStatus' QueueMember list items."""

    kind: str  # the event name
    queue: str
    interface: str
    member_name: str
    status: int  # AST_DEVICE_*: 1 not in use, 2 in use, 5 unavailable, 6 ringing, ...
    paused: bool
    paused_reason: str
    in_call: bool
    calls_taken: int
    last_call: int


@dataclass(frozen=True, slots=True)
class CoreShowChannel:
    ref: ChannelRef
    state: int
    application: str
    bridge_id: str | None
    duration: str


@dataclass(frozen=True, slots=True)
class FullyBooted:
    pass


TypedEvent = (
    OriginateResponse
    | Newchannel
    | Newstate
    | DialBegin
    | DialEnd
    | Hangup
    | HangupRequest
    | VarSet
    | UserEvent
    | BridgeEnter
    | QueueCallerJoin
    | QueueCallerLeave
    | QueueCallerAbandon
    | AgentCalled
    | AgentConnect
    | AgentRingNoAnswer
    | AgentComplete
    | QueueMemberState
    | CoreShowChannel
    | FullyBooted
)

_T = TypeVar("_T")
_PARSERS: dict[str, Callable[[Event], TypedEvent]] = {}


def _parser(*names: str) -> Callable[[Callable[[Event], _T]], Callable[[Event], _T]]:
    def register(fn: Callable[[Event], _T]) -> Callable[[Event], _T]:
        for name in names:
            _PARSERS[name.lower()] = fn  # type: ignore[assignment]
        return fn

    return register


@_parser("OriginateResponse")
def _originate_response(e: Event) -> OriginateResponse:
    return OriginateResponse(
        action_id=e.action_id,
        success=(e.get("Response") or "").lower() == "success",
        reason=_int(e, "Reason"),
        channel=e.get("Channel") or "",
        uniqueid=_opt(e, "Uniqueid"),
    )


@_parser("Newchannel")
def _newchannel(e: Event) -> Newchannel:
    return Newchannel(ChannelRef.of(e), _int(e, "ChannelState"), e.get("Context") or "", e.get("Exten") or "")


@_parser("Newstate")
def _newstate(e: Event) -> Newstate:
    return Newstate(ChannelRef.of(e), _int(e, "ChannelState"), e.get("ChannelStateDesc") or "")


@_parser("DialBegin")
def _dial_begin(e: Event) -> DialBegin:
    return DialBegin(ChannelRef.maybe(e), ChannelRef.of(e, "Dest"))


@_parser("DialEnd")
def _dial_end(e: Event) -> DialEnd:
    return DialEnd(ChannelRef.maybe(e), ChannelRef.of(e, "Dest"), _req(e, "DialStatus"))


@_parser("Hangup")
def _hangup(e: Event) -> Hangup:
    return Hangup(ChannelRef.of(e), _int(e, "Cause", default=0), e.get("Cause-txt") or "")


@_parser("HangupRequest", "SoftHangupRequest")
def _hangup_request(e: Event) -> HangupRequest:
    return HangupRequest(ChannelRef.of(e), _int(e, "Cause", default=0), e.name.lower().startswith("soft"))


@_parser("VarSet")
def _varset(e: Event) -> VarSet:
    return VarSet(ChannelRef.of(e), _req(e, "Variable"), e.get("Value") or "")


@_parser("BridgeEnter")
def _bridge_enter(e: Event) -> BridgeEnter:
    return BridgeEnter(ChannelRef.of(e), _req(e, "BridgeUniqueid"))


@_parser("QueueCallerJoin")
def _caller_join(e: Event) -> QueueCallerJoin:
    return QueueCallerJoin(ChannelRef.of(e), _req(e, "Queue"), _int(e, "Position", default=0))


@_parser("QueueCallerLeave")
def _caller_leave(e: Event) -> QueueCallerLeave:
    return QueueCallerLeave(ChannelRef.of(e), _req(e, "Queue"))


@_parser("QueueCallerAbandon")
def _caller_abandon(e: Event) -> QueueCallerAbandon:
    return QueueCallerAbandon(ChannelRef.of(e), _req(e, "Queue"), _int(e, "HoldTime", default=0))


@_parser("AgentCalled")
def _agent_called(e: Event) -> AgentCalled:
    return AgentCalled(
        ChannelRef.of(e), ChannelRef.of(e, "Dest"), _req(e, "Queue"), _req(e, "Interface"),
        e.get("MemberName") or "",
    )


@_parser("AgentConnect")
def _agent_connect(e: Event) -> AgentConnect:
    return AgentConnect(
        ChannelRef.of(e), ChannelRef.of(e, "Dest"), _req(e, "Queue"), _req(e, "Interface"),
        e.get("MemberName") or "", _int(e, "HoldTime", default=0), _int(e, "RingTime", default=0),
    )


@_parser("AgentRingNoAnswer")
def _agent_ring_no_answer(e: Event) -> AgentRingNoAnswer:
    return AgentRingNoAnswer(
        ChannelRef.of(e), ChannelRef.of(e, "Dest"), _req(e, "Queue"), _req(e, "Interface"),
        e.get("MemberName") or "", _int(e, "RingTime", default=0),
    )


@_parser("AgentComplete")
def _agent_complete(e: Event) -> AgentComplete:
    return AgentComplete(
        ChannelRef.maybe(e), _req(e, "Queue"), _req(e, "Interface"), e.get("MemberName") or "",
        _int(e, "HoldTime", default=0), _int(e, "TalkTime", default=0), e.get("Reason") or "",
        ChannelRef.maybe(e, "Dest"),
    )


@_parser("QueueMemberAdded", "QueueMemberRemoved", "QueueMemberStatus", "QueueMemberPause", "QueueMember")
def _queue_member(e: Event) -> QueueMemberState:
    # QueueStatus' list item names the interface "Location" and the name "Name".
    interface = e.get("Interface") or e.get("Location")
    if interface is None:
        raise AMIProtocolError(f"{e.name} event without Interface")
    return QueueMemberState(
        kind=e.name,
        queue=_req(e, "Queue"),
        interface=interface,
        member_name=e.get("MemberName") or e.get("Name") or "",
        status=_int(e, "Status", default=0),
        paused=_bool(e, "Paused"),
        paused_reason=e.get("PausedReason") or "",
        in_call=_bool(e, "InCall"),
        calls_taken=_int(e, "CallsTaken", default=0),
        last_call=_int(e, "LastCall", default=0),
    )


@_parser("CoreShowChannel")
def _core_show_channel(e: Event) -> CoreShowChannel:
    return CoreShowChannel(
        ChannelRef.of(e), _int(e, "ChannelState", default=0), e.get("Application") or "",
        _opt(e, "BridgeId"), e.get("Duration") or "",
    )


# The headers every channel event carries (ast_manager_build_channel_state_string), not the body.
_CHANNEL_HEADERS = frozenset(
    h.lower() for h in (
        "Event", "Privilege", "Timestamp", "SystemName", "Channel", "ChannelState", "ChannelStateDesc",
        "CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode",
        "Context", "Exten", "Priority", "Uniqueid", "Linkedid", "UserEvent",
    )
)


@_parser("UserEvent")
def _user_event(e: Event) -> UserEvent:
    body = tuple((k, v) for k, v in e.headers if k.lower() not in _CHANNEL_HEADERS)
    return UserEvent(ChannelRef.of(e), _req(e, "UserEvent"), body)


@_parser("FullyBooted")
def _fully_booted(e: Event) -> FullyBooted:
    return FullyBooted()


def parse_event(event: Event) -> TypedEvent | None:
    """The typed view of ``event``, or None when olive does not model it."""
    parser = _PARSERS.get(event.name.lower())
    return parser(event) if parser else None


MODELLED_EVENTS = frozenset(_PARSERS)
