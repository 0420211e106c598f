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
from operator import itemgetter
from typing import TypeVar

from olive.ami._errors import AMIProtocolError
from olive.ami._messages import Event, Header

UNKNOWN = "<unknown>"

# Speed: an event's fields are found through its *shape*, the tuple of its
# header names. Asterisk sends each kind of event with the same few shapes,
# so where each name first occurs (any case, as Message.get finds it) is
# worked out once per shape and name, then reused: a dict lookup per field
# instead of a scan of the headers. A peer that invents shapes only fills the
# bounded cache; past the cap each event gets a fresh, uncached lookup table.
_SHAPES: dict[str, dict[str, int]] = {}
_SHAPES_CAP = 4096
_name_of = itemgetter(0)


def _first(headers: tuple[Header, ...], name: str) -> int:
    """Index of the first header called ``name`` (any case, as :meth:`Message.get`), else -1."""
    key = name.lower()
    if key.isascii():
        size = len(key)
        for i, (n, _) in enumerate(headers):
            if len(n) == size and (n == name or n.lower() == key):
                return i
        return -1
    for i, (n, _) in enumerate(headers):
        if n.lower() == key:
            return i
    return -1


class _Fields:
    """One event's headers, read by name through its shape's cached positions."""

    __slots__ = ("_pos", "event", "headers")

    def __init__(self, event: Event) -> None:
        self.event = event
        headers = self.headers = event.headers
        shape = "\n".join(map(_name_of, headers))  # a name never holds a line break
        pos = _SHAPES.get(shape)
        if pos is None:
            pos = {}
            if len(_SHAPES) < _SHAPES_CAP:
                _SHAPES[shape] = pos
        self._pos = pos

    def get(self, name: str) -> str | None:
        i = self._pos.get(name)
        if i is None:
            i = self._pos[name] = _first(self.headers, name)
        return self.headers[i][1] if i >= 0 else None

    @property
    def name(self) -> str:
        return self.get("Event") or ""


def _req(f: _Fields, name: str) -> str:
    value = f.get(name)
    if value is None:
        raise AMIProtocolError(f"{f.name} event without {name}: {dict(f.headers)!r}")
    return value


def _opt(f: _Fields, name: str) -> str | None:
    value = f.get(name)
    return None if value in (None, "", UNKNOWN) else value


def _int(f: _Fields, name: str, default: int | None = None) -> int:
    value = f.get(name)
    if value is None or value == "":
        if default is not None:
            return default
        raise AMIProtocolError(f"{f.name} event without {name}")
    try:
        return int(value)
    except ValueError:
        raise AMIProtocolError(f"{f.name} event has non-numeric {name}: {value!r}") from None


def _bool(f: _Fields, name: str) -> bool:
    return (f.get(name) or "").lower() in ("1", "true", "yes")


def _ref(f: _Fields, prefix: str = "") -> ChannelRef:
    # Channel is checked first, then Uniqueid: the error names the first one missing.
    if not prefix:  # the event's own channel: most events, so spelled out
        channel, uniqueid = _req(f, "Channel"), _req(f, "Uniqueid")
        return ChannelRef(channel, uniqueid, f.get("Linkedid") or uniqueid)
    channel, uniqueid = _req(f, prefix + "Channel"), _req(f, prefix + "Uniqueid")
    return ChannelRef(channel, uniqueid, f.get(prefix + "Linkedid") or uniqueid)


def _maybe_ref(f: _Fields, prefix: str = "") -> ChannelRef | None:
    if f.get(prefix + "Channel") is None or f.get(prefix + "Uniqueid") is None:
        return None
    return _ref(f, prefix)


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """The channel an event is about: name, Uniqueid and the call tree's Linkedid."""

    channel: str
    uniqueid: str
    linkedid: str

    @classmethod
    def of(cls, event: Event, prefix: str = "") -> ChannelRef:
        return _ref(_Fields(event), prefix)


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
    status: int  # AST_DEVICE_*: ami.DeviceState
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
_PARSERS: dict[str, Callable[[_Fields], TypedEvent]] = {}
_PARSERS_EXACT: dict[str, Callable[[_Fields], TypedEvent]] = {}  # as Asterisk spells them: no lower()


def _parser(*names: str) -> Callable[[Callable[[_Fields], _T]], Callable[[_Fields], _T]]:
    def register(fn: Callable[[_Fields], _T]) -> Callable[[_Fields], _T]:
        for name in names:
            _PARSERS[name.lower()] = fn  # type: ignore[assignment]
            _PARSERS_EXACT[name] = fn  # type: ignore[assignment]
        return fn

    return register


@_parser("OriginateResponse")
def _originate_response(f: _Fields) -> OriginateResponse:
    return OriginateResponse(
        action_id=f.get("ActionID"),
        success=(f.get("Response") or "").lower() == "success",
        reason=_int(f, "Reason"),
        channel=f.get("Channel") or "",
        uniqueid=_opt(f, "Uniqueid"),
    )


@_parser("Newchannel")
def _newchannel(f: _Fields) -> Newchannel:
    return Newchannel(_ref(f), _int(f, "ChannelState"), f.get("Context") or "", f.get("Exten") or "")


@_parser("Newstate")
def _newstate(f: _Fields) -> Newstate:
    return Newstate(_ref(f), _int(f, "ChannelState"), f.get("ChannelStateDesc") or "")


@_parser("DialBegin")
def _dial_begin(f: _Fields) -> DialBegin:
    return DialBegin(_maybe_ref(f), _ref(f, "Dest"))


@_parser("DialEnd")
def _dial_end(f: _Fields) -> DialEnd:
    return DialEnd(_maybe_ref(f), _ref(f, "Dest"), _req(f, "DialStatus"))


@_parser("Hangup")
def _hangup(f: _Fields) -> Hangup:
    return Hangup(_ref(f), _int(f, "Cause", default=0), f.get("Cause-txt") or "")


@_parser("HangupRequest", "SoftHangupRequest")
def _hangup_request(f: _Fields) -> HangupRequest:
    return HangupRequest(_ref(f), _int(f, "Cause", default=0), f.name.lower().startswith("soft"))


@_parser("VarSet")
def _varset(f: _Fields) -> VarSet:
    return VarSet(_ref(f), _req(f, "Variable"), f.get("Value") or "")


@_parser("BridgeEnter")
def _bridge_enter(f: _Fields) -> BridgeEnter:
    return BridgeEnter(_ref(f), _req(f, "BridgeUniqueid"))


@_parser("QueueCallerJoin")
def _caller_join(f: _Fields) -> QueueCallerJoin:
    return QueueCallerJoin(_ref(f), _req(f, "Queue"), _int(f, "Position", default=0))


@_parser("QueueCallerLeave")
def _caller_leave(f: _Fields) -> QueueCallerLeave:
    return QueueCallerLeave(_ref(f), _req(f, "Queue"))


@_parser("QueueCallerAbandon")
def _caller_abandon(f: _Fields) -> QueueCallerAbandon:
    return QueueCallerAbandon(_ref(f), _req(f, "Queue"), _int(f, "HoldTime", default=0))


@_parser("AgentCalled")
def _agent_called(f: _Fields) -> AgentCalled:
    return AgentCalled(
        _ref(f), _ref(f, "Dest"), _req(f, "Queue"), _req(f, "Interface"),
        f.get("MemberName") or "",
    )


@_parser("AgentConnect")
def _agent_connect(f: _Fields) -> AgentConnect:
    return AgentConnect(
        _ref(f), _ref(f, "Dest"), _req(f, "Queue"), _req(f, "Interface"),
        f.get("MemberName") or "", _int(f, "HoldTime", default=0), _int(f, "RingTime", default=0),
    )


@_parser("AgentRingNoAnswer")
def _agent_ring_no_answer(f: _Fields) -> AgentRingNoAnswer:
    return AgentRingNoAnswer(
        _ref(f), _ref(f, "Dest"), _req(f, "Queue"), _req(f, "Interface"),
        f.get("MemberName") or "", _int(f, "RingTime", default=0),
    )


@_parser("AgentComplete")
def _agent_complete(f: _Fields) -> AgentComplete:
    return AgentComplete(
        _maybe_ref(f), _req(f, "Queue"), _req(f, "Interface"), f.get("MemberName") or "",
        _int(f, "HoldTime", default=0), _int(f, "TalkTime", default=0), f.get("Reason") or "",
        _maybe_ref(f, "Dest"),
    )


@_parser("QueueMemberAdded", "QueueMemberRemoved", "QueueMemberStatus", "QueueMemberPause", "QueueMember")
def _queue_member(f: _Fields) -> QueueMemberState:
    # QueueStatus' list item names the interface "Location" and the name "Name".
    interface = f.get("Interface") or f.get("Location")
    if interface is None:
        raise AMIProtocolError(f"{f.name} event without Interface")
    return QueueMemberState(
        kind=f.name,
        queue=_req(f, "Queue"),
        interface=interface,
        member_name=f.get("MemberName") or f.get("Name") or "",
        status=_int(f, "Status", default=0),
        paused=_bool(f, "Paused"),
        paused_reason=f.get("PausedReason") or "",
        in_call=_bool(f, "InCall"),
        calls_taken=_int(f, "CallsTaken", default=0),
        last_call=_int(f, "LastCall", default=0),
    )


@_parser("CoreShowChannel")
def _core_show_channel(f: _Fields) -> CoreShowChannel:
    return CoreShowChannel(
        _ref(f), _int(f, "ChannelState", default=0), f.get("Application") or "",
        _opt(f, "BridgeId"), f.get("Duration") or "",
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
def _user_event(f: _Fields) -> UserEvent:
    body = tuple((k, v) for k, v in f.headers if k.lower() not in _CHANNEL_HEADERS)
    return UserEvent(_ref(f), _req(f, "UserEvent"), body)


@_parser("FullyBooted")
def _fully_booted(f: _Fields) -> FullyBooted:
    return FullyBooted()


def parse_event(event: Event) -> TypedEvent | None:
    """The typed view of ``event``, or None when olive does not model it."""
    headers = event.headers
    if headers and headers[0][0] == "Event":  # where Asterisk puts it: the one event.name finds
        value = headers[0][1]
        parser = _PARSERS_EXACT.get(value) or _PARSERS.get(value.lower())
    else:
        parser = _PARSERS.get(event.name.lower())
    return parser(_Fields(event)) if parser else None


MODELLED_EVENTS = frozenset(_PARSERS)
