"""The Dial() application, as Asterisk 22's app_dial runs it (apps/app_dial.c), for what
olive's dialplan asks of it: ``Dial(tech/resource[&tech/resource...][,timeout[,options]])``
from a running channel ([olive-preview]: the agent's channel dials the customer).

As AMI shows it (transcripts 27-33):

- the DIAL* variables are reset on the caller (a VarSet each, even when empty);
- each destination's channel is requested (Newchannel, ``AppDial``/``(Outgoing Line)``,
  DIALEDPEERNUMBER, the caller's id as its caller id) and called: a Local one's ``;2``
  half runs its dialplan (LocalBridge), a PJSIP one rings its far end; DialBegin;
- the callee's ringing is DialState RINGING (RINGTIME on the caller the first time);
  a busy or congested callee is DialEnd BUSY/CONGESTION and its hangup; one that hangs
  up is DialEnd with ast_hangup_cause_to_dial_status() of its cause;
- no answer within the timeout is DialEnd NOANSWER for each callee still ringing, which
  is hung up; the caller hanging up first is DialEnd CANCEL;
- the first answer wins: DialEnd CANCEL for the others (hung up, cause 26), DIALSTATUS
  ANSWER, DIALEDPEERNAME, DIALEDPEERNUMBER, DialEnd ANSWER, then a basic bridge
  (BridgeCreate, the callee's cleared extension, BridgeEnter of the callee then the caller,
  BRIDGEPEER); when either side hangs up the bridge ends (BridgeLeave, BridgeDestroy),
  ANSWEREDTIME, DIALEDTIME and DIALSTATUS (ANSWER again) are set and the PBX ends on the
  caller (no ``g`` option: the dialplan does not go on);
- unanswered, DIALSTATUS (BUSY or CONGESTION when every callee said so, CHANUNAVAIL when
  none could be called, else NOANSWER or CANCEL) and the dialplan goes on (or, the
  caller gone, ends).

Options are read as app_dial does but only ``r`` (ringing to the caller: no AMI event)
is olive's; none changes what AMI shows here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from olive.ami import HangupCause
from olive.sim._dial import Dial, Target, call_local, parse_target, request
from olive.sim._far import AgentBehaviour, Behaviour, FarEnd
from olive.sim._model import Bridge, Channel
from olive.sim._queues import set_duration

if TYPE_CHECKING:
    from olive.sim._apps import Runner
    from olive.sim._clockwork import Timer

__all__ = ["DialApp"]

#: dial_exec_full() blanks these on the caller first, in this order.
RESET_VARS = (
    "DIALSTATUS", "DIALEDPEERNUMBER", "DIALEDPEERNAME", "ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME",
    "DIALEDTIME_MS", "RINGTIME", "RINGTIME_MS", "PROGRESSTIME", "PROGRESSTIME_MS",
)


@dataclass(eq=False)
class _Out:
    target: Target
    channel: Channel
    dial: Dial
    going: bool = True


class DialApp:
    """One Dial() on ``runner``'s channel: a DialOwner for each destination's Dial."""

    def __init__(self, runner: Runner, args: list[str]) -> None:
        self.runner = runner
        self.core = runner.core
        self.ch = runner.ch
        self.destinations = [d.strip() for d in (args[0] if args else "").split("&") if d.strip()]
        self.timeout = _seconds(args[1] if len(args) > 1 else "")
        self.out: list[_Out] = []
        self.busy = self.congestion = self.nochan = 0
        self.status = "NOANSWER"
        self.sent_ring = False
        self.peer: Channel | None = None
        self.bridge: Bridge | None = None
        self.done = False
        self._timer: Timer | None = None

    # -- placing the calls ---------------------------------------------------------------
    def start(self) -> None:
        core, ch = self.core, self.ch
        for name in RESET_VARS:
            core.set_var(ch, name, "")
        for text in self.destinations:
            self._request(text)
        if not self.out:
            self.status = "CHANUNAVAIL"  # "No devices or endpoints to dial"
            return self._unanswered()
        ch.on_hangup_request = self._caller_hungup
        for out in list(self.out):
            self._call(out)
        if self.done:
            return
        if self.timeout is not None:
            self._timer = core.sched.later(self.timeout, self._timed_out)
            ch.timers.append(self._timer)

    def _request(self, text: str) -> None:
        core, ch = self.core, self.ch
        target = parse_target(text)
        if target is None or (target.tech == "PJSIP" and self._behaviour(target) is None):
            self.nochan += 1  # ast_request() failed: no channel, nothing to see
            return
        one = request(
            core, target, linkedid=ch.linkedid,
            endpoint_context=core.endpoint_context(target.where) if target.tech == "PJSIP" else "default",
        )
        one.rng = core.dial_rng(target)
        core.set_var(one, "DIALEDPEERNUMBER", target.resource)
        # One staged snapshot (transcripts 27-33): the callee takes the caller's extension, its
        # connected line is the caller's caller id, and its own caller id the "stored" one:
        # the caller's extension as number, the caller's connected name as name (no hint).
        one.exten = ch.exten
        one.conn_num, one.conn_name = ch.cid_num, ch.cid_name
        core.set_app(one, "AppDial", "(Outgoing Line)")
        core.set_callerid(one, ch.exten, ch.conn_name)
        core.channel_event("NewConnectedLine", one)
        self.out.append(_Out(target, one, Dial(core, ch, one, target.resource, self, "dial")))

    def _behaviour(self, target: Target) -> Behaviour | AgentBehaviour | None:
        core = self.core
        rng = core.dial_rng(target)
        return core.far_behaviour(target, rng) or (core.agent_behaviour(target, None) if not target.exten else None)

    def _call(self, out: _Out) -> None:
        core, one, dial = self.core, out.channel, out.dial
        one.on_hangup_request = dial.remote_hangup
        if out.target.tech == "Local":
            two = call_local(core, one, dial)
            if two is None:  # no such extension: ast_call() failed
                out.going = False
                self.out.remove(out)
                self.nochan += 1
                core.hangup(one, 0)
                if not self.out:
                    self.status = "CHANUNAVAIL"
                    self._unanswered()
                return
            runner = type(self.runner)(core, two, out.target.where, out.target.exten, 1)
            runner.queue_app, runner.queue_member = self.runner.queue_app, self.runner.queue_member
            core.sched.defer(runner.start)
            return
        behaviour = self._behaviour(out.target)
        assert behaviour is not None
        dial.begin()
        FarEnd(core, one, behaviour).start(dial)

    # -- DialOwner ------------------------------------------------------------------------
    def early_failure(self) -> bool:
        return False

    def dial_ringing(self, dial: Dial) -> None:
        if not self.sent_ring:
            self.sent_ring = True
            set_duration(self.core, self.ch, "RINGTIME", round((self.core.now - dial.dest.created) * 1000))

    def dial_failed(self, dial: Dial, reason: int) -> None:
        out = self._out_of(dial)
        if out is None or self.done:
            return
        out.going = False
        cause = out.channel.hangupcause
        if reason == 5 or cause == HangupCause.USER_BUSY:
            self.busy += 1
        elif reason == 8 or cause == HangupCause.NORMAL_CIRCUIT_CONGESTION:
            self.congestion += 1
        elif cause not in (HangupCause.NO_ANSWER, HangupCause.NORMAL_CLEARING):
            self.nochan += 1
        if any(o.going for o in self.out):
            return
        if len(self.out) == self.busy + self.congestion + self.nochan:
            self.status = "BUSY" if self.busy else "CONGESTION" if self.congestion else "CHANUNAVAIL"
        self._unanswered()

    def dial_answered(self, dial: Dial) -> None:
        out = self._out_of(dial)
        if out is None or self.done:
            return
        core, ch, peer = self.core, self.ch, dial.dest
        self.done = True
        out.going = False
        self._cancel_timer()
        for other in self.out:  # publish_dial_end_event(CANCEL), then hanguptree(26)
            if other is not out and other.going:
                other.dial.done = True
                other.channel.dial = None
                other.dial.end_event("CANCEL")
        for other in self.out:
            if other is not out and other.going:
                other.going = False
                core.hangup(other.channel, HangupCause.ANSWERED_ELSEWHERE, force=True)
        ch.set_cause(16, force=True)
        peer.set_cause(16, force=True)
        core.set_var(ch, "DIALSTATUS", "ANSWER")
        core.set_var(ch, "DIALEDPEERNAME", peer.name)
        core.set_var(ch, "DIALEDPEERNUMBER", out.target.resource)
        dial.end_event("ANSWER")
        self.peer = peer
        if peer.far is not None:
            peer.far.answered()
        self._bridge(peer)

    # -- endings --------------------------------------------------------------------------
    def _timed_out(self) -> None:
        if not self.done:
            self._end_ringing("NOANSWER")

    def _caller_hungup(self, cause: int) -> None:
        if not self.done:
            self._end_ringing("CANCEL", self.ch.hangupcause or HangupCause.NORMAL_CLEARING)

    def _end_ringing(self, status: str, caller_cause: int | None = None) -> None:
        """Every callee still ringing gets its DialEnd, then is hung up (with the caller's
        cause, at once, when the caller has gone): as dial_exec_full() on a timeout or a cancel."""
        going = [o for o in self.out if o.going]
        for out in going:
            out.dial.done = True
            out.channel.dial = None
            out.dial.end_event(status)
        for out in going:
            out.going = False
            if caller_cause is None:
                self.core.hangup(out.channel)
            else:
                self.core.hangup(out.channel, caller_cause, force=True)
        self.status = status
        self._unanswered(caller_gone=caller_cause is not None)

    def _unanswered(self, *, caller_gone: bool = False) -> None:
        """The end of dial_exec_full() without a bridge: DIALSTATUS, then the dialplan goes on."""
        self.done = True
        self._cancel_timer()
        self.core.set_var(self.ch, "DIALSTATUS", self.status)
        if caller_gone:
            self.runner.finish_hangup()
        else:
            self.runner.resume()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- the bridge (ast_bridge_call) --------------------------------------------------------
    def _bridge(self, peer: Channel) -> None:
        core, ch = self.core, self.ch
        bridge = Bridge(core.new_bridge_id())
        self.bridge = bridge
        self.bridged_at = core.now
        core.emit("BridgeCreate", "call", bridge.block())
        # wait_for_answer() cleared the answered callee's extension; its next snapshot shows it.
        peer.exten = ""
        core.publish(peer)
        for party in (peer, ch):
            bridge.channels.append(party)
            party.bridge = bridge
            core.emit("BridgeEnter", "call", [*bridge.block(), *party.block()])
        self._bridgepeer(peer, ch)
        self._bridgepeer(ch, peer)
        ch.on_hangup_request = lambda cause: self._left(ch)
        peer.on_hangup_request = lambda cause: self._left(peer)
        for party in (ch, peer):
            if party.far is not None:
                party.far.connected()
        if core.transmit_silence:
            # The caller's side sends frames into the bridge: a Local callee's ;2 in Answer() has its first.
            half = peer.local_peer
            if half is not None and half.runner is not None:
                half.runner.media_started()

    def _bridgepeer(self, ch: Channel, peer: Channel | None) -> None:
        core = self.core
        core.set_var(ch, "BRIDGEPEER", peer.name if peer else "")
        if (peer is not None and peer.tech == "PJSIP") or (peer is None and "BRIDGEPVTCALLID" in ch.variables):
            core.set_var(ch, "BRIDGEPVTCALLID", core.new_bridge_id() if peer else "")

    def _leave(self, party: Channel) -> None:
        bridge = self.bridge
        assert bridge is not None
        if party in bridge.channels:
            bridge.channels.remove(party)
            party.bridge = None
            self.core.emit("BridgeLeave", "call", [*bridge.block(), *party.block()])

    def _left(self, first: Channel) -> None:
        """One side hung up: the bridge ends, the other side is hung up, the PBX ends."""
        core, ch, peer, bridge = self.core, self.ch, self.peer, self.bridge
        assert peer is not None and bridge is not None
        if not bridge.channels:
            return
        other = peer if first is ch else ch
        self._bridgepeer(first, None)
        self._bridgepeer(other, None)
        self._leave(first)
        self._leave(other)
        core.emit("BridgeDestroy", "call", bridge.block())
        set_duration(core, ch, "ANSWEREDTIME", round((core.now - self.bridged_at) * 1000))
        set_duration(core, ch, "DIALEDTIME", round((core.now - ch.created) * 1000))
        core.set_var(ch, "DIALSTATUS", "ANSWER")  # dial_exec_full()'s "out:" sets it again
        if first is ch:
            self.runner.finish_hangup()
            core.hangup(peer, 16)
        else:
            core.hangup(peer, 16)
            self.runner.finish_hangup()

    def _out_of(self, dial: Dial) -> _Out | None:
        return next((o for o in self.out if o.dial is dial), None)


def _seconds(text: str) -> float | None:
    """app_dial's answer timeout: ``%lf`` seconds before any ``^``; none (or not > 0): no limit."""
    head = text.split("^", 1)[0].strip()
    try:
        value = float(head)
    except ValueError:
        return None
    return value if value > 0 else None
