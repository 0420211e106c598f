"""Placing calls: Local and PJSIP channels, and the Dial* events of one dial.

``request()`` creates the channel(s) (``Local/EXTEN@CONTEXT-0000000N;1/;2`` or
``PJSIP/ENDPOINT-0000000N``); ``Dial.call()`` starts the call. Whatever rings
on the far side (the ``;2`` half running dialplan, or a simulated SIP far end)
reports back through ``Dial.ringing/answered/failed/remote_hangup``; the
dial's owner (an Originate or a queue) is told through :class:`DialOwner`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from olive.ami import HangupCause
from olive.sim._model import RING, RINGING, UP, Channel

if TYPE_CHECKING:
    from olive.sim._core import Core

__all__ = ["Dial", "DialOwner", "Target", "parse_target", "request"]

# ast_hangup_cause_to_dial_status()
_STATUS_BY_CAUSE: dict[int, str] = {
    HangupCause.USER_BUSY: "BUSY",
    HangupCause.NORMAL_CIRCUIT_CONGESTION: "CONGESTION",
    HangupCause.NO_ROUTE_DESTINATION: "CHANUNAVAIL",
    HangupCause.SUBSCRIBER_ABSENT: "CHANUNAVAIL",
}


class DialOwner(Protocol):
    def dial_ringing(self, dial: Dial) -> None: ...
    def dial_answered(self, dial: Dial) -> None: ...
    def dial_failed(self, dial: Dial, reason: int) -> None: ...
    def early_failure(self) -> bool:
        """Tell of a failure before the channel's hangup events (a race Asterisk has)."""
        ...


@dataclass(frozen=True)
class Target:
    """What ``Local/1001@customers`` or ``PJSIP/1001@trunk`` asks for."""

    tech: str
    resource: str  # the text after the slash, for DialString
    exten: str  # Local: the extension; PJSIP: the number ('' for PJSIP/101)
    where: str  # Local: the context; PJSIP: the endpoint
    options: str = ""

    @property
    def device(self) -> str:
        return f"Local/{self.exten}@{self.where}" if self.tech == "Local" else f"PJSIP/{self.where}"


def parse_target(text: str) -> Target | None:
    tech, sep, resource = text.partition("/")
    if not sep or not resource:
        return None
    if tech.lower() == "local":
        base, _, options = resource.partition("/")
        exten, at, context = base.partition("@")
        return Target("Local", resource, exten, context if at else "default", options)
    if tech.upper() == "PJSIP":
        number, at, endpoint = resource.partition("@")
        if not at:
            return Target("PJSIP", resource, "", number)
        return Target("PJSIP", resource, number, endpoint)
    return None


def request(
    core: Core,
    target: Target,
    *,
    linkedid: str | None,
    uniqueid: str | None = None,
    otherid: str | None = None,
    endpoint_context: str = "default",
) -> Channel:
    """Create the channel(s) for ``target`` (Newchannel). Returns the ``;1`` / only leg."""
    uid1 = core.new_uniqueid()
    if target.tech == "Local":
        uid2 = core.new_uniqueid()
        suffix = core.next_local()
        base = f"Local/{target.exten}@{target.where}-{suffix}"
        one_uid = uniqueid or uid1
        link = linkedid or one_uid
        one = Channel(f"{base};1", one_uid, link, "Local", target.device, target.where, target.exten)
        two_uid = otherid or (f"{uniqueid};2" if uniqueid else uid2)
        two = Channel(f"{base};2", two_uid, link, "Local", target.device, target.where, target.exten, state=RING)
        two.is_one = False
        one.partner, two.partner = two, one
        core.add_channel(one)
        core.add_channel(two)
        return one
    suffix = core.next_pjsip()
    uid = uniqueid or uid1
    ch = Channel(
        f"PJSIP/{target.where}-{suffix}", uid, linkedid or uid, "PJSIP", target.device, endpoint_context, "s"
    )
    core.add_channel(ch)
    return ch


class Dial:
    """One outgoing leg being dialed: DialBegin, DialState, DialEnd."""

    def __init__(
        self, core: Core, caller: Channel | None, dest: Channel, dialstring: str, owner: DialOwner, kind: str
    ) -> None:
        self.core = core
        self.caller = caller
        self.dest = dest
        self.dialstring = dialstring
        self.owner = owner
        self.kind = kind  # "originate" or "queue"
        self.done = False
        self.started = core.now
        self.connected_line_sent = False
        dest.dial = self

    def _event(self, name: str, *extra: tuple[str, str]) -> None:
        headers = [*(self.caller.block() if self.caller else []), *self.dest.block("Dest"), *extra]
        self.core.emit(name, "call", headers)

    def begin(self) -> None:
        self._event("DialBegin", ("DialString", self.dialstring))

    def end_event(self, status: str) -> None:
        self._event("DialEnd", ("DialStatus", status))

    # -- signals from the far side -------------------------------------------------
    def ringing(self) -> None:
        if self.done:
            return
        self.core.newstate(self.dest, RINGING)
        self._connected_line()
        self._event("DialState", ("DialStatus", "RINGING"))
        self.owner.dial_ringing(self)

    def _connected_line(self) -> None:
        """app_queue passes the caller's id to the member as its connected line, at the member's
        first sign of life: ringing (transcript 19), or the answer when it did not ring."""
        if self.kind == "queue" and self.caller is not None and not self.connected_line_sent:
            self.connected_line_sent = True
            self.core.set_connected(self.dest, self.caller.cid_num, self.caller.cid_name)

    def answered(self) -> None:
        if self.done:
            return
        self.done = True
        self.core.newstate(self.dest, UP)
        self._connected_line()  # a member that answers without ringing first (transcript 23)
        self.dest.dial = None
        self.end_event("ANSWER")
        self.owner.dial_answered(self)

    def control_failure(self, status: str, reason: int) -> None:
        """BUSY or CONGESTION indicated by a Local ;2 (app_dial/dial.c hang the leg up)."""
        if self.done:
            return
        self.done = True
        self.end_event(status)
        self.dest.dial = None
        early = self.owner.early_failure()
        if early:
            self.owner.dial_failed(self, reason)
        self.core.hangup(self.dest, 0)
        if not early:
            self.owner.dial_failed(self, reason)

    def remote_hangup(self, cause: int) -> None:
        """The far end hung up before answering (a SIP final response)."""
        if self.done:
            return
        self.done = True
        early = self.owner.early_failure()
        if early:
            self.owner.dial_failed(self, 0)
        self.end_event(_STATUS_BY_CAUSE.get(cause, "NOANSWER"))
        self.dest.dial = None
        self.core.hangup(self.dest, cause)
        if not early:
            self.owner.dial_failed(self, 0)



def call_local(
    core: Core,
    one: Channel,
    dial: Dial,
    *,
    before_begin: list[tuple[str, list[tuple[str, str]]]] | None = None,
    fail_early: Callable[[int], None] | None = None,
) -> Channel | None:
    """local_call(): the ``;2`` half inherits variables and caller id, then runs dialplan.

    Returns the ``;2`` channel, or None when the extension does not exist (both
    halves are then gone and nothing was bridged).
    """
    two = one.partner
    assert two is not None
    for name in reversed(list(one.variables)):
        core.set_var(two, name, one.variables[name])
    if one.cid_num or one.cid_name:
        core.set_callerid(two, one.cid_num, one.cid_name)
        core.set_connected(two, one.cid_num, one.cid_name)
    if not core.dialplan.exists(two.context, two.exten):
        one.partner = two.partner = None
        if fail_early is not None:
            fail_early(0)
        core.hangup(two, 0)
        return None
    core.emit(
        "LocalBridge",
        "call",
        [*one.block("LocalOne"), *two.block("LocalTwo"), ("Context", two.context), ("Exten", two.exten),
         ("LocalOptimization", "Yes")],
    )
    for name, headers in before_begin or []:
        core.emit(name, "agent", headers)
    dial.begin()
    return two
