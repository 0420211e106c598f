"""The simulated PBX's shared state: channels, ids, events and device states.

Everything here runs inside the scheduler (see ``_clockwork``), so ``now`` is
the logical time of the thing happening and events come out in the order a
single Asterisk thread of control would publish them.
"""

from __future__ import annotations

import random
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from olive.sim._dial import Target

from olive.ami import Event, Response
from olive.clock import Clock
from olive.sim._clockwork import Scheduler
from olive.sim._dialplan import Dialplan
from olive.sim._far import AgentBehaviour, Behaviour
from olive.sim._model import (
    DOWN,
    RINGING,
    UP,
    Channel,
    Header,
    cause_text,
)
from olive.sim._world import World

__all__ = ["CATEGORIES", "Core", "Session", "timeout_seconds"]

CATEGORIES = {
    "system": 1 << 0,
    "call": 1 << 1,
    "log": 1 << 2,
    "verbose": 1 << 3,
    "command": 1 << 4,
    "agent": 1 << 5,
    "user": 1 << 6,
    "config": 1 << 7,
    "dtmf": 1 << 8,
    "reporting": 1 << 9,
    "cdr": 1 << 10,
    "dialplan": 1 << 11,
    "originate": 1 << 12,
    "agi": 1 << 13,
    "cc": 1 << 15,
    "aoc": 1 << 16,
    "test": 1 << 17,
    "security": 1 << 18,
    "message": 1 << 30,
}
ALL = 0x7FFFFFFF


class Session(Protocol):
    @property
    def event_mask(self) -> int: ...

    def send(self, message: Event | Response) -> None: ...


class Core:
    def __init__(self, clock: Clock, dialplan: Dialplan, seed: int) -> None:
        self.clock = clock
        self.sched = Scheduler(clock)
        self.dialplan = dialplan
        self.seed = seed
        self.started = clock.now()
        self.processed_calls = 0  # channels that started running dialplan (CoreProcessedCalls)
        self.sessions: list[Session] = []
        self.channels: dict[str, Channel] = {}
        # Lookups that would otherwise walk every channel (thousands at a busy PBX's scale):
        # by lower-case name and by uniqueid (in creation order), and by device.
        self._by_lower_name: dict[str, list[Channel]] = {}
        self._by_uniqueid: dict[str, list[Channel]] = {}
        self._by_device: dict[str, dict[str, Channel]] = {}
        self._created_seq: dict[Channel, int] = {}
        self._seq = 0
        self.event_log: deque[Event] = deque(maxlen=1000)  # the latest events, for tests
        self.devices: dict[str, str] = {}  # cachable device states
        self._uid = 0
        self._local = 0
        self._pjsip = 0
        self._rng = random.Random(seed)
        # Hooks the other parts install: device state → queue member status.
        self.device_listeners: list[Callable[[str, str], None]] = []
        self.hangup_listeners: list[Callable[[Channel], None]] = []
        self.pre_hangup_listeners: list[Callable[[Channel], None]] = []
        # Test hook: fixed values for RAND() per channel name or device (Local/1001@customers).
        self.rand_pins: dict[str, list[int]] = {}
        self.world: World | None = None
        self.astdb: dict[str, str] = {}  # the PBX's AstDB, shared across restarts
        # Vary the order of events where Asterisk's threads race (see Originate.early_failure).
        self.vary_order = False
        # Test hook: each event passes through it on its way out: [(event as sent, delay), ...].
        self.tamper: Callable[[Event], list[tuple[Event, float]]] | None = None

    @property
    def now(self) -> float:
        return self.sched.now

    # -- events ---------------------------------------------------------------
    def emit(self, name: str, category: str, headers: Iterable[Header]) -> None:
        flag = CATEGORIES[category]
        event = Event(
            (("Event", name), ("Privilege", f"{category},all"), ("Timestamp", f"{self.now:.6f}"), *headers)
        )
        if self.tamper is None:
            self._publish(event, flag)
            return
        for sent, delay_s in self.tamper(event):  # a fault a test asked for (SimulatedPBX.odd_event)
            if delay_s > 0:
                self.sched.later(delay_s, lambda sent=sent: self._publish(sent, flag))  # type: ignore[misc]
            else:
                self._publish(sent, flag)

    def _publish(self, event: Event, flag: int) -> None:
        self.event_log.append(event)
        for session in list(self.sessions):
            if session.event_mask & flag:
                session.send(event)

    def channel_event(self, name: str, ch: Channel, *extra: Header, category: str = "call") -> None:
        self.emit(name, category, [*ch.block(), *extra])

    # -- ids ------------------------------------------------------------------
    def new_uniqueid(self) -> str:
        uid = f"{int(self.now)}.{self._uid}"
        self._uid += 1
        return uid

    def next_local(self) -> str:
        suffix = f"{self._local:08x}"
        self._local += 1
        return suffix

    def next_pjsip(self) -> str:
        suffix = f"{self._pjsip:08x}"
        self._pjsip += 1
        return suffix

    def new_bridge_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def find_channel(self, name_or_uid: str) -> Channel | None:
        ch = self.channels.get(name_or_uid)
        if ch is not None:
            return ch
        by_name = self._by_lower_name.get(name_or_uid.lower())
        by_uid = self._by_uniqueid.get(name_or_uid)
        found = [chans[0] for chans in (by_name, by_uid) if chans]
        # The first channel created that matches either way, as a walk over the channels would.
        return min(found, key=self._created_seq.__getitem__, default=None)

    # -- channels -------------------------------------------------------------
    def add_channel(self, ch: Channel) -> None:
        ch.created = self.now
        old = self.channels.get(ch.name)
        if old is not None:
            self._forget(old)
        self.channels[ch.name] = ch
        self._seq += 1
        self._created_seq[ch] = self._seq
        self._by_lower_name.setdefault(ch.name.lower(), []).append(ch)
        self._by_uniqueid.setdefault(ch.uniqueid, []).append(ch)
        self._by_device.setdefault(ch.device, {})[ch.name] = ch
        self.channel_event("Newchannel", ch)

    def publish(self, ch: Channel) -> None:
        """A new snapshot of ``ch``: Newexten when its dialplan location changed."""
        if ch.dead or not ch.app:
            return
        cep = (ch.context, ch.exten, ch.priority)
        if ch.pub_cep is not None and ch.pub_app and cep == ch.pub_cep:
            ch.pub_app = ch.app
            return
        ch.pub_cep, ch.pub_app = cep, ch.app
        self.channel_event(
            "Newexten", ch, ("Extension", ch.exten), ("Application", ch.app), ("AppData", ch.appdata),
            category="dialplan",
        )

    def set_app(self, ch: Channel, app: str, data: str) -> None:
        ch.app, ch.appdata = app, data
        self.publish(ch)

    def set_var(self, ch: Channel, name: str, value: str) -> None:
        ch.variables[name] = value
        self.channel_event("VarSet", ch, ("Variable", name), ("Value", value), category="dialplan")

    def write_function(self, ch: Channel, name: str, value: str) -> bool:
        """Set(FUNCTION(args)=value) for the functions olive's dialplan writes; False if ``name``
        is a plain variable. Writing a function sets no variable, so no VarSet."""
        func, _, rest = name.partition("(")
        if not rest.endswith(")"):
            return False
        args, func = rest[:-1].strip(), func.strip().upper()
        if func == "DB":
            family, _, key = args.partition("/")
            if family and key:
                self.astdb[f"{family}/{key}"] = value
            return True
        if func == "CHANNEL" and args.lower() == "hangup_handler_push":
            ch.hangup_handlers.append(value)
            self.channel_event("HangupHandlerPush", ch, ("Handler", value), category="dialplan")
            return True
        if func == "TIMEOUT":
            # func_timeout.c timeout_write(): absolute sets whentohangup (0 clears it); the
            # response and digit timeouts are the PBX's, which the simulator never waits on.
            if args[:1].lower() == "a":
                self.set_absolute_timeout(ch, timeout_seconds(value))
            return True
        if func == "MASTER_CHANNEL":
            # func_channel.c func_mchan_write(): on the channel whose name or uniqueid is this
            # channel's linkedid (this channel if there is none), as pbx_builtin_setvar_helper().
            master = self.find_channel(ch.linkedid) or ch
            if not self.write_function(master, args, value):
                self.set_var(master, args, value)
            return True
        return False

    def set_absolute_timeout(self, ch: Channel, seconds: float) -> None:
        """ast_channel_setwhentohangup_tv(): the channel hangs up ``seconds`` from now (0: never)."""
        if ch.absolute_timer is not None:
            ch.absolute_timer.cancel()
            ch.absolute_timer = None
        if seconds > 0 and not ch.dead:
            ch.absolute_timer = self.sched.later(seconds, lambda: self._absolute_timeout(ch))
            ch.timers.append(ch.absolute_timer)

    def _absolute_timeout(self, ch: Channel) -> None:
        """The hang-up time came (ast_check_hangup: AST_SOFTHANGUP_TIMEOUT, no AMI event): what the
        channel waits in ends as on a hang-up; its PBX then goes on at the T extension."""
        ch.absolute_timer = None
        if ch.dead:
            return
        if ch.runner is not None and not ch.runner.stopped:
            ch.runner.absolute_timeout()
        else:
            self.hangup(ch, 16, soft=True)

    def set_callerid(self, ch: Channel, num: str | None, name: str | None) -> None:
        ch.cid_num, ch.cid_name = num, name
        self.channel_event("NewCallerid", ch, ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"))

    def set_connected(self, ch: Channel, num: str | None, name: str | None) -> None:
        ch.conn_num, ch.conn_name = num, name
        self.channel_event("NewConnectedLine", ch)

    def newstate(self, ch: Channel, state: int) -> None:
        if ch.dead or ch.state == state:
            return
        ch.state = state
        if state == UP and ch.answered_at is None:
            ch.answered_at = self.now
        self.channel_event("Newstate", ch)
        self.publish(ch)
        self.device_changed(ch)

    # -- hangup ---------------------------------------------------------------
    def request_hangup(self, ch: Channel, cause: int, tech_cause: int | None = None) -> None:
        """The far side hung ``ch`` up (HangupRequest); whoever owns ``ch`` reacts."""
        if ch.dead:
            return
        ch.set_cause(cause)
        if tech_cause is not None:
            ch.tech_cause = tech_cause
        extra: list[Header] = [("Cause", str(cause))]
        if tech_cause is not None:
            extra.append(("TechCause", str(tech_cause)))
        self.channel_event("HangupRequest", ch, *extra)
        handler = ch.on_hangup_request
        if handler is not None:
            self.sched.defer(lambda: handler(cause))
        else:
            self.sched.defer(lambda: self.hangup(ch, ch.hangupcause, soft=True))

    def hangup(
        self,
        ch: Channel,
        cause: int | None = None,
        *,
        soft: bool = False,
        force: bool = False,
    ) -> None:
        """Hang ``ch`` up. ``soft``: the channel's own thread ends it (SoftHangupRequest first);
        ``force``: ``cause`` replaces a cause the channel already had."""
        if ch.dead:
            return
        if soft:
            self.channel_event("SoftHangupRequest", ch, ("Cause", "16"))
        if cause is not None:
            ch.set_cause(cause, force=force)
        ch.dead = True
        ch.cancel_timers()
        if ch.runner is not None:
            ch.runner.stop()
        peer = ch.local_peer
        if peer is not None and not peer.dead:
            self.request_hangup(peer, ch.hangupcause)
        if ch.hangup_handlers:
            from olive.sim._apps import run_hangup_handlers

            run_hangup_handlers(self, ch)
        for listener in self.pre_hangup_listeners:
            listener(ch)
        extra: list[Header] = [("Cause", str(ch.hangupcause)), ("Cause-txt", cause_text(ch.hangupcause))]
        if ch.tech_cause is not None:
            extra.append(("TechCause", str(ch.tech_cause)))
        self.channel_event("Hangup", ch, *extra)
        self._forget(ch)
        for listener in self.hangup_listeners:
            listener(ch)
        self.device_changed(ch)

    def _forget(self, ch: Channel) -> None:
        if self.channels.get(ch.name) is ch:
            del self.channels[ch.name]
        if self._created_seq.pop(ch, None) is None:
            return
        for index, key in ((self._by_lower_name, ch.name.lower()), (self._by_uniqueid, ch.uniqueid)):
            chans = index[key]
            chans.remove(ch)
            if not chans:
                del index[key]
        device = self._by_device[ch.device]
        if device.get(ch.name) is ch:
            del device[ch.name]
        if not device:
            del self._by_device[ch.device]

    # -- device state -----------------------------------------------------------
    def device_changed(self, ch: Channel) -> None:
        device = ch.device
        if ch.tech == "Local":
            # Local devices are not cached: one DeviceStateChange per change.
            self.sched.defer(lambda: self._publish_device(device, self.local_state(device), cache=False))
        else:
            self.sched.defer(lambda: self._publish_device(device, self.endpoint_state(device), cache=True))

    def local_state(self, device: str) -> str:
        exten_context = device.split("/", 1)[1]
        exten, _, context = exten_context.partition("@")
        if not self.dialplan.exists(context, exten):
            return "INVALID"
        return "INUSE" if self._by_device.get(device) else "NOT_INUSE"

    def endpoint_state(self, device: str) -> str:
        states = [c.state for c in self._by_device.get(device, {}).values()]
        if not states:
            return "NOT_INUSE"
        if any(s == UP for s in states):
            return "INUSE"
        if any(s == RINGING for s in states):
            return "RINGING"
        return "INUSE" if any(s != DOWN for s in states) else "NOT_INUSE"

    def set_device_state(self, device: str, state: str) -> None:
        """A cachable custom device (``Queue:...``): published only when it changes."""
        self._publish_device(device, state, cache=True)

    def _publish_device(self, device: str, state: str, *, cache: bool) -> None:
        if cache:
            if self.devices.get(device) == state:
                return
            self.devices[device] = state
        self.emit("DeviceStateChange", "call", [("Device", device), ("State", state)])
        for listener in self.device_listeners:
            listener(device, state)

    # -- randomness ---------------------------------------------------------------
    def rand(self, ch: Channel, low: int, high: int) -> int:
        pins = self.rand_pins.get(ch.name) or self.rand_pins.get(ch.device)
        if pins:
            return pins.pop(0)
        if low > high:
            low, high = high, low
        return self.call_rng(ch).randint(low, high)

    def call_rng(self, ch: Channel) -> random.Random:
        for c in (ch, ch.partner):
            if c is not None and c.rng is not None:
                rng: random.Random = c.rng
                return rng
        return self._rng

    # -- the world the scenario describes ---------------------------------------------
    def dial_rng(self, target: Target) -> random.Random:
        return self.world.rng_for_dial(target) if self.world else self._rng

    def far_behaviour(self, target: Target, rng: random.Random) -> Behaviour | None:
        return self.world.customer(target, rng) if self.world else None

    def agent_behaviour(self, target: Target, member: object) -> AgentBehaviour | None:
        if self.world is None or target.where in self.world.scenario.trunks:
            return None
        return self.world.agent(f"PJSIP/{target.where}")

    def endpoint_context(self, endpoint: str) -> str:
        return self.world.endpoint_context(endpoint) if self.world else "default"

    def sound_seconds(self, name: str) -> float:
        return self.world.sound_seconds(name) if self.world else 3.0

    @property
    def transmit_silence(self) -> bool:
        return self.world.scenario.transmit_silence if self.world else False

    def sound_voice(self, name: str) -> tuple[float, float]:
        return self.world.sound_voice(name) if self.world else (0.0, self.sound_seconds(name))


def timeout_seconds(value: str) -> float:
    """TIMEOUT()'s value as func_timeout.c reads it: sscanf("%ld%lf"), whole seconds then a
    fraction ("1.2" is 1 s and 0.2 s); nothing, or a negative number, is 0 (no timeout)."""
    whole = re.match(r"\s*([+-]?\d+)", value)
    if whole is None or int(whole.group(1)) < 0:
        return 0.0
    fraction = re.match(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)", value[whole.end():])
    micro = int(float(fraction.group(1)) * 1_000_000) if fraction else 0
    return int(whole.group(1)) + micro / 1_000_000
