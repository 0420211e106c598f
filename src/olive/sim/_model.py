"""Channels and bridges of the simulated PBX, and the header blocks AMI events carry.

A channel's block (``Channel`` … ``Linkedid``) is what Asterisk 22 puts in every
channel event; ``Dest``, ``LocalOne`` and ``LocalTwo`` prefix the same block.
Cause and state texts are Asterisk's (``ast_cause2str``, ``ast_state2str``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from olive.ami import CAUSE_TEXT, ChannelState, cause_text

if TYPE_CHECKING:
    from olive.sim._clockwork import Timer

Header = tuple[str, str]

DOWN, RING, RINGING, UP, BUSY = (
    ChannelState.DOWN, ChannelState.RING, ChannelState.RINGING, ChannelState.UP, ChannelState.BUSY)
STATE_DESC: dict[int, str] = {s: s.desc for s in ChannelState}


UNKNOWN = "<unknown>"


@dataclass(eq=False)
class Channel:
    """One Asterisk channel. ``tech`` is ``Local`` or ``PJSIP``."""

    name: str
    uniqueid: str
    linkedid: str
    tech: str
    device: str  # what device state follows: Local/1001@customers, PJSIP/sipp
    context: str
    exten: str
    priority: int = 1
    state: int = DOWN
    created: float = 0.0
    cid_num: str | None = None
    cid_name: str | None = None
    conn_num: str | None = None
    conn_name: str | None = None
    app: str = ""
    appdata: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    partner: Channel | None = None  # the other half of a Local channel
    is_one: bool = True  # ;1 of a Local pair (or a single-leg channel)
    originated: bool = False  # placed by an Originate action
    bridge: Bridge | None = None
    hangupcause: int = 0
    cause_set: bool = False  # 0 is a real cause ("Unknown"); this says whether one was given
    tech_cause: int | None = None  # the SIP status behind a PJSIP hangup
    far: Any = None  # the simulated far end of a PJSIP channel
    rng: Any = None  # this call's random source (random.Random)
    dead: bool = False
    answered_at: float | None = None
    # what reacts when the far side hangs this channel up (dial, queue, bridge, pbx)
    on_hangup_request: Callable[[int], None] | None = None
    runner: Any = None  # the dialplan runner on this channel, if any
    dial: Any = None  # the dial that placed this channel, while it is being dialed
    timers: list[Timer] = field(default_factory=list)
    hangup_handlers: list[str] = field(default_factory=list)  # CHANNEL(hangup_handler_push): "context,exten,priority"
    # what the last published snapshot said (for Newexten)
    pub_cep: tuple[str, str, int] | None = None
    pub_app: str = ""

    @property
    def local_peer(self) -> Channel | None:
        return self.partner if self.tech == "Local" else None

    def block(self, prefix: str = "", *, exten: str | None = None) -> list[Header]:
        p = prefix
        return [
            (f"{p}Channel", self.name),
            (f"{p}ChannelState", str(self.state)),
            (f"{p}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{p}CallerIDNum", self.cid_num or UNKNOWN),
            (f"{p}CallerIDName", self.cid_name or UNKNOWN),
            (f"{p}ConnectedLineNum", self.conn_num or UNKNOWN),
            (f"{p}ConnectedLineName", self.conn_name or UNKNOWN),
            (f"{p}Language", "en"),
            (f"{p}AccountCode", ""),
            (f"{p}Context", self.context),
            (f"{p}Exten", self.exten if exten is None else exten),
            (f"{p}Priority", str(self.priority)),
            (f"{p}Uniqueid", self.uniqueid),
            (f"{p}Linkedid", self.linkedid),
        ]

    def set_cause(self, cause: int, *, force: bool = False) -> None:
        if force or not self.cause_set:
            self.hangupcause = cause
            self.cause_set = True

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()


@dataclass(eq=False)
class Bridge:
    uniqueid: str
    channels: list[Channel] = field(default_factory=list)
    on_leave: Callable[[Channel, int], None] | None = None

    def block(self) -> list[Header]:
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(len(self.channels))),
            ("BridgeVideoSourceMode", "none"),
        ]


def parse_callerid(text: str) -> tuple[str | None, str | None]:
    """``"Olive Dialer" <9000>`` → (number, name), as ``ast_callerid_parse`` reads it."""
    text = text.strip()
    if not text:
        return None, None
    if "<" in text and text.endswith(">"):
        name, _, num = text[:-1].rpartition("<")
        name = name.strip().strip('"').strip()
        return (num.strip() or None), (name or None)
    if text.replace("+", "").replace("-", "").isdigit():
        return text, None
    return None, text.strip('"') or None


__all__ = [
    "BUSY",
    "CAUSE_TEXT",
    "DOWN",
    "RING",
    "RINGING",
    "STATE_DESC",
    "UNKNOWN",
    "UP",
    "Bridge",
    "Channel",
    "Header",
    "cause_text",
    "parse_callerid",
]
