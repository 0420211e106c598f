"""What each agent is doing, from queue events: events in, agent states out.

olive adds its logged-in agents to the campaign queues as members
(QueueAdd); app_queue then reports them with QueueMember* events and rings
them with AgentCalled. An agent is keyed by its Asterisk interface
(``PJSIP/101``) because one agent may sit in several queues.

Device status (QueueMemberStatus Status) is Asterisk's AST_DEVICE_* code (ami.DeviceState).
A Local-channel member reads INUSE (2) while ringing, never RINGING (6)
(transcript 11), so ringing is taken from AgentCalled, not from Status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from olive import ami
from olive.calls._model import AgentActivity, CallRecord, CallState
from olive.calls._table import AGENT_MOVES, Rest, agent_move

D = ami.DeviceState
NOT_INUSE = D.NOT_INUSE


@dataclass(frozen=True, slots=True)
class AgentStatus:
    interface: str
    member_name: str
    activity: AgentActivity
    since: float
    queues: frozenset[str] = frozenset()
    paused: bool = False
    paused_reason: str = ""
    device_status: int = NOT_INUSE
    call_id: str | None = None  # the call it is ringing for, talking on or wrapping up
    talk_started_at: float | None = None
    wrapup_until: float | None = None
    calls_taken: int = 0
    missed_in_a_row: int = 0  # rings it let time out since it last took a call or was unpaused


@dataclass(frozen=True, slots=True)
class AgentChange:
    status: AgentStatus
    previous: AgentActivity
    talk_s: float | None = None  # set when a call's talk just ended
    wrapup_s: float | None = None  # set when after-call work just ended


_WITH_CALL = (AgentActivity.RINGING, AgentActivity.TALKING, AgentActivity.WRAPUP)
#: How much shorter than the connect limit a ring cancelled by it may look: app_queue rings
#: the agent a fraction of a millisecond after the customer joins, and olive sees the ring
#: start and end when the events reach it (transcript 39: 1.500 s for a 1.5 s limit).
RING_END_SLACK_S = 0.25
# When olive's call leaves an agent, the in-use device state it caused is stale;
# a QueueMemberStatus will say if the device is still busy with something else.
_CALL_OVER: dict[str, object] = {"call_id": None, "device_status": NOT_INUSE}


class MemberTracker:
    def __init__(self, *, wrapup_s: float = 0.0, full_ring_ms: int = 0) -> None:
        """``full_ring_ms``: the connect limit (the shortest of the link's campaigns, in ms).
        A ring is the agent's miss when it lasted that long: app_queue's AgentRingNoAnswer of
        at least that, or a ring the connect limit cancelled (no AgentRingNoAnswer: the
        customer's channel timed out, transcript 39; only with a limit known, above 0). A
        shorter ring is not counted: app_queue let it go at the queue's own ring timeout, or
        the customer hung up."""
        self.wrapup_s = wrapup_s
        self.full_ring_ms = full_ring_ms
        self._agents: dict[str, AgentStatus] = {}
        self._wrapping: dict[str, float] = {}  # interface -> wrapup_until, for agents in timed wrap-up
        self._on_call: dict[str, set[str]] = {}  # call id -> interfaces of the agents with that call_id
        #: Counts the writes of agents' statuses (``version``) and of their queues alone
        #: (``membership``): equal counts mean the same statuses, or the same members in the same
        #: queues, so a reader keeps what it derived from them (the engine reads 1,000 agents a tick).
        self.version = 0
        self.membership = 0

    def get(self, interface: str) -> AgentStatus | None:
        return self._agents.get(interface)

    def status(self, interface: str) -> AgentStatus:
        """A known agent's status (KeyError if unknown)."""
        return self._agents[interface]

    def agents(self) -> list[AgentStatus]:
        return list(self._agents.values())

    def handle(self, event: ami.TypedEvent, now: float) -> list[AgentChange]:
        if isinstance(event, ami.QueueMemberState):
            return self._on_member(event, now)
        agent = self._agents.get(getattr(event, "interface", ""))
        if agent is None:
            return []
        move = type(event).__name__  # AGENT_MOVES is keyed by the event's name
        target = agent_move(agent.activity, move) if move in AGENT_MOVES else None
        if isinstance(event, ami.AgentCalled) and target is not None:
            return self._move(agent, now, target, {"call_id": event.ref.linkedid})
        if isinstance(event, ami.AgentRingNoAnswer):
            missed = {"missed_in_a_row": agent.missed_in_a_row + (event.ring_time_ms >= self.full_ring_ms)}
            if target is not None:
                return self._move(agent, now, target, {**_CALL_OVER, **missed})
            return self._move(agent, now, agent.activity, missed)
        if isinstance(event, ami.AgentConnect) and target is not None:
            return self._move(agent, now, target, {"call_id": event.ref.linkedid, "talk_started_at": now, "missed_in_a_row": 0})
        if isinstance(event, ami.AgentComplete) and target is not None:
            talk = now - (agent.talk_started_at if agent.talk_started_at is not None else now)
            if self.wrapup_s > 0:
                changes = self._move(agent, now, target, {"wrapup_until": now + self.wrapup_s})
            else:  # no after-call work: the wrap-up is over at once
                rest = agent_move(AgentActivity.WRAPUP, "wrap-up over")
                changes = [replace(c, wrapup_s=0.0) for c in self._move(agent, now, rest, _CALL_OVER)]
            return [replace(c, talk_s=talk) for c in changes]
        return []

    def next_due(self) -> float | None:
        """When the next timed wrap-up ends (an agent becomes free with no event to say so)."""
        return min(self._wrapping.values(), default=None)

    def tick(self, now: float) -> list[AgentChange]:
        changes: list[AgentChange] = []
        due = [i for i, until in self._wrapping.items() if now >= until]
        for interface in due:
            agent = self._agents[interface]
            target = agent_move(agent.activity, "wrap-up over")
            if target is not None and agent.wrapup_until is not None and now >= agent.wrapup_until:
                for change in self._move(agent, now, target, {**_CALL_OVER, "wrapup_until": None}):
                    changes.append(replace(change, wrapup_s=now - agent.since))
        return changes

    def agent_first(self, record: CallRecord, now: float) -> list[AgentChange]:
        """Preview mode, agent first: no queue event rings, connects or completes the agent,
        so the call's record does. Ringing from the Originate until the customer answers the
        agent's Dial() (talking), then wrap-up as after AgentComplete once the call is over;
        a call that ends unconnected while the agent rings ends as ``call_ended`` says."""
        interface, call_id = record.agent_first, record.call_id
        agent = self._agents.get(interface or "")
        if agent is None:
            return []
        changes: list[AgentChange] = []
        connected = record.agent_connected_at is not None
        ended = record.state is CallState.ENDED
        if not connected and not ended and agent.call_id is None and agent.activity is not AgentActivity.WRAPUP:
            target = agent_move(agent.activity, "agent-first ring")
            changes += self._move(agent, now, target, {"call_id": call_id})
        elif connected and agent.call_id in (None, call_id) and agent.activity is not AgentActivity.TALKING \
                and not (ended and agent.activity is AgentActivity.WRAPUP):
            target = agent_move(agent.activity, "agent-first connect")
            changes += self._move(agent, now, target, {"call_id": call_id, "talk_started_at": record.agent_connected_at, "missed_in_a_row": 0})
        agent = self._agents[agent.interface]
        if ended and connected and agent.call_id == call_id and agent.activity is AgentActivity.TALKING:
            talk = now - (agent.talk_started_at if agent.talk_started_at is not None else now)
            if self.wrapup_s > 0:
                done = self._move(agent, now, agent_move(agent.activity, "agent-first complete"), {"wrapup_until": now + self.wrapup_s})
            else:
                rest = agent_move(AgentActivity.WRAPUP, "wrap-up over")
                done = [replace(c, wrapup_s=0.0) for c in self._move(agent, now, rest, _CALL_OVER)]
            changes += [replace(c, talk_s=talk) for c in done]
        return changes

    def call_ended(self, call_id: str, now: float) -> list[AgentChange]:
        """A call is over: an agent still ringing for it is not any more (transcripts 11, 13)."""
        changes: list[AgentChange] = []
        for interface in sorted(self._on_call.get(call_id, ())):
            agent = self._agents[interface]
            target = agent_move(agent.activity, "call ended")
            if target is not None and agent.call_id == call_id:
                changes.extend(self._move(agent, now, target, _CALL_OVER))
        return changes

    def snapshot(self, queue: str, listed: Iterable[str], now: float) -> list[AgentChange]:
        """A QueueStatus of ``queue`` listed these members (interfaces) and no others.

        Whoever olive believed a member and is not listed left the queue unseen
        (an Asterisk restart forgets every dynamic member): they are out of it.
        Out of their last queue, any call olive had them on is over; still in
        another, a call they ring for, talk on or wrap up is still theirs (the
        queues are re-read one at a time: out of the first, they were not idle
        holding the call).
        """
        present = set(listed)
        changes: list[AgentChange] = []
        for agent in list(self._agents.values()):
            if queue not in agent.queues or agent.interface in present:
                continue
            queues = agent.queues - {queue}
            fields: dict[str, object] = {"queues": queues}
            target: AgentActivity | None = agent.activity if agent.activity in _WITH_CALL else None
            if not queues:
                fields.update(_CALL_OVER, talk_started_at=None, wrapup_until=None)
                target = AgentActivity.LOGGED_OUT
            changes.extend(self._move(agent, now, target, fields))
        return changes

    # -- internals ----------------------------------------------------------------
    def _on_member(self, event: ami.QueueMemberState, now: float) -> list[AgentChange]:
        before = self._agents.get(event.interface)
        if event.kind.lower() == "queuememberremoved":
            if before is None:
                return []
            queues = before.queues - {event.queue}
            if queues:
                self._agents[event.interface] = replace(before, queues=queues)
                self.version += 1
                self.membership += 1
                return []
            return self._move(before, now, agent_move(before.activity, "QueueMemberRemoved"), {"queues": frozenset(), "call_id": None})
        if before is None:
            before = AgentStatus(event.interface, event.member_name, AgentActivity.LOGGED_OUT, now)
        agent = replace(
            before,
            member_name=event.member_name or before.member_name,
            queues=before.queues | {event.queue},
            paused=event.paused,
            paused_reason=event.paused_reason if event.paused else "",
            device_status=event.status,
            calls_taken=max(before.calls_taken, event.calls_taken),
            # Made ready again (by olive or at the phone): the misses before are forgiven.
            missed_in_a_row=0 if before.paused and not event.paused else before.missed_in_a_row,
        )
        keep = agent.activity in _WITH_CALL
        # A ringing Local member reads INUSE; NOT_INUSE again means the ring is over.
        if agent.activity is AgentActivity.RINGING and event.status == NOT_INUSE:
            # Over with no AgentRingNoAnswer and no answer: the customer's channel went. The
            # connect limit (TIMEOUT(absolute)) cancels the ring that way (transcript 39): a ring
            # that lasted the whole limit is the agent's miss; a customer hanging up sooner is not.
            missed = 0 < self.full_ring_ms <= 1000 * (now - before.since + RING_END_SLACK_S)
            keep, agent = False, replace(agent, call_id=None, missed_in_a_row=agent.missed_in_a_row + missed)
        # A QueueStatus list item is a fresh snapshot: it ends a call whose end we missed.
        if keep and event.kind == "QueueMember" and not event.in_call and event.status == NOT_INUSE:
            keep = agent.activity is AgentActivity.WRAPUP
            agent = agent if keep else replace(agent, call_id=None)
        return self._move(before, now, agent.activity if keep else None, updated=agent)

    def _move(
        self,
        before: AgentStatus,
        now: float,
        activity: AgentActivity | Rest | None,
        fields: Mapping[str, object] | None = None,
        *,
        updated: AgentStatus | None = None,
    ) -> list[AgentChange]:
        """Apply ``fields``, then move to ``activity`` (REST or None: whatever it rests in)."""
        updated = updated or before
        if fields:
            updated = replace(updated, **fields)  # type: ignore[arg-type]
        target = activity if isinstance(activity, AgentActivity) else _resting(updated)
        if target is not updated.activity:
            updated = replace(updated, activity=target, since=now)
        self._agents[before.interface] = updated
        self.version += 1
        if updated.queues != before.queues:
            self.membership += 1
        if updated.call_id != before.call_id:
            if before.call_id is not None and (holders := self._on_call.get(before.call_id)) is not None:
                holders.discard(before.interface)
                if not holders:
                    del self._on_call[before.call_id]
            if updated.call_id is not None:
                self._on_call.setdefault(updated.call_id, set()).add(before.interface)
        if updated.wrapup_until is not None and agent_move(updated.activity, "wrap-up over") is not None:
            self._wrapping[before.interface] = updated.wrapup_until
        else:
            self._wrapping.pop(before.interface, None)
        return [] if updated == before else [AgentChange(updated, before.activity)]


def _resting(agent: AgentStatus) -> AgentActivity:
    """What an agent with no olive call is doing, from its pause flag and device state."""
    if not agent.queues:
        return AgentActivity.LOGGED_OUT
    if agent.paused:
        return AgentActivity.PAUSED
    if agent.device_status in (D.UNAVAILABLE, D.INVALID):
        return AgentActivity.UNAVAILABLE
    if agent.device_status in (D.INUSE, D.BUSY, D.RINGINUSE, D.ONHOLD, D.RINGING) and agent.call_id is None:
        return AgentActivity.BUSY
    return AgentActivity.IDLE
