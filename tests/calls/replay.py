"""Feed a recorded transcript through the codec and the pure trackers, at its own times."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from olive import ami
from olive.calls import AgentChange, CallChange, CallRecord, CallTracker, MemberTracker
from support.transcripts import Entry, load


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
) -> Replay:
    """``classes`` keeps only events of those Privilege classes, as ``Events: call,agent`` would;
    ``edit`` rewrites the entries first (a fault on top of a real recording)."""
    entries = load(name).entries
    if edit is not None:
        entries = tuple(edit(entries))
    r = Replay(CallTracker(settle_s=settle_s), MemberTracker(wrapup_s=wrapup_s))
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
        codec.receive_data(entry.wire())
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
