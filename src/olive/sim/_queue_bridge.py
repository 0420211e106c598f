"""A queue caller connected to an agent: AgentConnect, the bridge, AgentComplete.

When either side hangs up the bridge ends, AgentComplete says who (Reason
``agent`` or ``caller``) with HoldTime and TalkTime in whole seconds, the
member's call is counted (update_queue) and both legs are hung up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from olive.sim._model import Bridge, Channel
from olive.sim._queues import Member, set_duration

if TYPE_CHECKING:
    from olive.sim._queue_app import QueueCall

__all__ = ["connect"]


def _bridge_event(call: QueueCall, name: str, bridge: Bridge, ch: Channel | None = None) -> None:
    call.core.emit(name, "call", [*bridge.block(), *(ch.block() if ch else [])])


def _set_bridgepeer(call: QueueCall, ch: Channel, peer: Channel | None) -> None:
    core = call.core
    core.set_var(ch, "BRIDGEPEER", peer.name if peer else "")
    if (peer is not None and peer.tech == "PJSIP") or (peer is None and "BRIDGEPVTCALLID" in ch.variables):
        core.set_var(ch, "BRIDGEPVTCALLID", core.new_bridge_id() if peer else "")


def connect(call: QueueCall, member: Member, peer: Channel, ring_started: float) -> None:
    core, ch, q, entry = call.core, call.ch, call.q, call.entry
    assert q is not None and entry is not None
    now = core.now
    hold = int(now) - int(entry.start)
    call.queues.recalc_holdtime(q, hold)
    if not call.ringing:
        core.channel_event("MusicOnHoldStop", ch)
    if q.setinterfacevar:
        values = [
            ("MEMBERINTERFACE", member.interface), ("MEMBERNAME", member.name), ("MEMBERCALLS", str(member.calls)),
            ("MEMBERLASTCALL", str(member.lastcall)), ("MEMBERPENALTY", str(member.penalty)),
            ("MEMBERDYNAMIC", "1" if member.dynamic else "0"), ("MEMBERREALTIME", "0"),
        ]
        for target in (ch, peer):
            for name, value in values:
                core.set_var(target, name, value)
    if q.setqueueentryvar:
        for target in (ch, peer):
            core.set_var(target, "QEHOLDTIME", str(hold))
            core.set_var(target, "QEORIGINALPOS", str(entry.opos))
    call.set_queue_variables(ch)
    call.set_queue_variables(peer)
    call.leave()
    entry.handled = True
    set_duration(core, ch, "QUEUEWAIT", hold * 1000)
    core.emit("AgentConnect", "agent", [
        *ch.block(), *peer.block("Dest"), ("Queue", q.name), ("Interface", member.interface),
        ("MemberName", member.name), ("HoldTime", str(hold)), ("RingTime", str(int(now - ring_started))),
    ])
    member.starttime = int(now)
    started = member.starttime

    def in_call() -> None:
        if member.starttime == started:
            member.in_call = True
    core.sched.defer(in_call)
    if core.transmit_silence:
        # The customer's side sends frames into the bridge (silence while it waits), so a Local
        # member's ;2 in Answer() gets its first frame at once, not after 0.5 s (transcript 23).
        agent_half = peer.local_peer
        if agent_half is not None and agent_half.runner is not None:
            agent_half.runner.media_started()
    # app_queue's try_calling(): a call answered within servicelevel seconds of joining
    # counts towards QUEUESRVLEVELPERF when it completes (transcript 23: 0 s held, 100.0).
    member.completed_in_sl = hold <= q.servicelevel
    call.callstart = int(now)
    call.member, call.peer = member, peer
    call.bridge_start = now
    bridge = Bridge(core.new_bridge_id())
    call.bridge = bridge
    _bridge_event(call, "BridgeCreate", bridge)
    for party in (peer, ch):
        bridge.channels.append(party)
        party.bridge = bridge
        _bridge_event(call, "BridgeEnter", bridge, party)
    _set_bridgepeer(call, peer, ch)
    _set_bridgepeer(call, ch, peer)
    ch.on_hangup_request = lambda cause: _caller_left(call)
    peer.on_hangup_request = lambda cause: _agent_left(call)
    for party in (ch, peer):
        if party.far is not None:
            party.far.connected()


def _complete(call: QueueCall, reason: str) -> None:
    core, q, member, peer = call.core, call.q, call.member, call.peer
    assert q is not None and member is not None and peer is not None
    core.emit("AgentComplete", "agent", [
        *call.ch.block(), *peer.block("Dest"), ("Queue", q.name), ("Interface", member.interface),
        ("MemberName", member.name), ("HoldTime", str(call.callstart - int(call.entry.start if call.entry else 0))),
        ("TalkTime", str(int(core.now) - call.callstart)), ("Reason", reason),
    ])


def _leave(call: QueueCall, ch: Channel) -> None:
    bridge = call.bridge
    assert bridge is not None
    if ch in bridge.channels:
        bridge.channels.remove(ch)
        ch.bridge = None
        _bridge_event(call, "BridgeLeave", bridge, ch)


def _end_vars(call: QueueCall) -> None:
    core, ch = call.core, call.ch
    call.set_queue_variables(ch)
    set_duration(core, ch, "ANSWEREDTIME", round((core.now - call.bridge_start) * 1000))
    set_duration(core, ch, "DIALEDTIME", round((core.now - ch.created) * 1000))


def _count_call(call: QueueCall) -> None:
    assert call.q is not None and call.member is not None
    call.queues.call_done(call.q, call.member, call.callstart)


def _finish(call: QueueCall) -> None:
    call.done = True
    call.set_queue_variables(call.ch)
    call.runner.finish_hangup()


def _agent_left(call: QueueCall) -> None:
    """The agent hung up: the caller is hung up too (Queue() without the 'c' option)."""
    peer, ch = call.peer, call.ch
    assert peer is not None and call.bridge is not None
    _set_bridgepeer(call, peer, None)
    _complete(call, "agent")
    _set_bridgepeer(call, ch, None)
    _leave(call, peer)
    _leave(call, ch)
    _bridge_event(call, "BridgeDestroy", call.bridge)
    _count_call(call)  # before the variables: both sets show the call counted (transcripts 19, 23)
    _end_vars(call)
    _finish(call)
    call.core.hangup(peer)


def _caller_left(call: QueueCall) -> None:
    peer, ch = call.peer, call.ch
    assert peer is not None and call.bridge is not None
    _set_bridgepeer(call, ch, None)
    _set_bridgepeer(call, peer, None)
    _leave(call, ch)
    _complete(call, "caller")
    _count_call(call)  # before the variables: both sets show the call counted (transcripts 19, 23)
    _end_vars(call)
    _finish(call)
    _leave(call, peer)
    _bridge_event(call, "BridgeDestroy", call.bridge)
    call.core.hangup(peer, 16)
