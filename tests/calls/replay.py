"""Feed a recorded transcript through the codec and the pure trackers, at its own times."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from olive import ami
from olive.calls import AgentChange, CallChange, CallRecord, CallTracker, MemberTracker
from support.transcripts import Entry, load, load_fragment

# What transcript 18's AgentComplete events keep when the caller's snapshot is gone.
AGENT_COMPLETE_BARE = frozenset(
    {"event", "privilege", "timestamp", "queue", "interface", "membername", "holdtime", "talktime", "reason"}
)


def bare_agent_complete(wire: bytes) -> bytes:
    """``wire`` with each AgentComplete cut down to the fields transcript 18 shows it can lose all else."""
    messages = wire.split(b"\r\n\r\n")
    out = []
    for message in messages:
        lines = message.split(b"\r\n")
        if lines and lines[0].lower() == b"event: agentcomplete":
            lines = [x for x in lines if x.split(b":", 1)[0].strip().lower().decode() in AGENT_COMPLETE_BARE]
        out.append(b"\r\n".join(lines))
    return b"\r\n\r\n".join(out)


def fragment_events(name: str) -> list[ami.TypedEvent]:
    """The typed events of a fragment transcript (18), read through the codec."""
    codec = ami.AMICodec(ami.Role.CLIENT)
    codec.receive_data(b"Asterisk Call Manager/9.0.0\r\n")
    for entry in load_fragment(name):
        codec.receive_data(entry.wire())
    typed: list[ami.TypedEvent] = []
    while (message := codec.next_message()) is not ami.NEED_DATA:
        if isinstance(message, ami.Banner):
            continue
        assert isinstance(message, ami.Event), message
        event = ami.parse_event(message)
        assert event is not None
        typed.append(event)
    return typed


@dataclass
class Replay:
    tracker: CallTracker
    members: MemberTracker
    ended: dict[str, CallRecord] = field(default_factory=dict)
    call_changes: list[CallChange] = field(default_factory=list)
    agent_changes: list[AgentChange] = field(default_factory=list)
    call_ids: list[str] = field(default_factory=list)
    last_t: float = 0.0

    def _collect(self, changes: list[CallChange]) -> None:
        self.call_changes.extend(changes)
        for change in changes:
            if change.ended:
                self.ended[change.record.call_id] = change.record

    def record(self, call_id: str | None = None) -> CallRecord:
        return self.ended[call_id or self.call_ids[0]]


def replay(
    name: str,
    *,
    settle_s: float = 1.0,
    wrapup_s: float = 0.0,
    until: float | None = None,
    classes: frozenset[str] | None = None,
    edit: Callable[[Sequence[Entry]], Sequence[Entry]] | None = None,
    caller_less_complete: bool = False,
    full_ring_ms: int = 0,
) -> Replay:
    """``classes`` keeps only events of those Privilege classes, as ``Events: call,agent`` would;
    ``edit`` rewrites the entries first (a fault on top of a real recording).

    ``caller_less_complete`` strips AgentComplete down to Queue/Interface/MemberName and
    its times, as real Asterisk sometimes sends it (transcript 18).
    """
    entries = load(name).entries
    if edit is not None:
        entries = tuple(edit(entries))
    r = Replay(CallTracker(settle_s=settle_s), MemberTracker(wrapup_s=wrapup_s, full_ring_ms=full_ring_ms))
    codec = ami.AMICodec(ami.Role.CLIENT)
    for entry in entries:
        if until is not None and entry.t > until:
            break
        r.last_t = entry.t
        if entry.direction == "sent":
            if entry.get("Action") == "Originate":
                channel_id = entry.get("ChannelId")
                call_id = channel_id or entry.get("ActionID") or "?"
                r.tracker.originate(
                    call_id,
                    action_id=entry.get("ActionID"),
                    dial_string=entry.get("Channel") or "",
                    now=entry.t,
                    with_channel_id=channel_id is not None,
                )
                r.call_ids.append(call_id)
            continue
        if entry.is_banner:  # a new connection (after Asterisk restarted: 21, 22)
            codec = ami.AMICodec(ami.Role.CLIENT)
        codec.receive_data(bare_agent_complete(entry.wire()) if caller_less_complete else entry.wire())
        while True:
            message = codec.next_message()
            if message is ami.NEED_DATA:
                break
            assert not isinstance(message, ami.MalformedMessage), message
            if isinstance(message, ami.Event):
                privilege = set((message.get("Privilege") or "").split(",")) - {"all"}
                if classes is not None and privilege and not privilege & classes:
                    continue
                typed = ami.parse_event(message)
                if typed is not None:
                    r._collect(r.tracker.handle(typed, entry.t))
                    r.agent_changes.extend(r.members.handle(typed, entry.t))
        r._collect(r.tracker.tick(entry.t))
        r.agent_changes.extend(r.members.tick(entry.t))
    if until is None:
        r._collect(r.tracker.tick(r.last_t + 5.0))
        r.agent_changes.extend(r.members.tick(r.last_t + 5.0))
    return r


def follow_call(call_id: str, events: Sequence[tuple[float, ami.TypedEvent]]) -> CallRecord:
    """One simulated call's timed events through a fresh tracker, as if olive had originated it
    as ``call_id`` (its OriginateResponse given that Uniqueid): the record it ends with, once."""
    tracker = CallTracker()
    tracker.originate(call_id, action_id=None, dial_string="Local/x@olive-test-customers", now=0.0)
    ended: CallRecord | None = None
    last = 0.0
    for t, ev in events:
        last = max(last, t)
        if isinstance(ev, ami.OriginateResponse):
            ev = replace(ev, uniqueid=call_id)
        for change in tracker.handle(ev, t):
            if change.ended:
                assert ended is None, "a call ends once"
                ended = change.record
    for change in tracker.tick(last + 100):
        ended = change.record
    assert ended is not None
    return ended

