"""Following every call from its AMI events: events in, call records out.

Pure: no I/O, no clock. The engine registers each attempt with
:meth:`CallTracker.originate` *before* sending the Originate, then feeds
every typed event with the time it arrived; each call whose record changed
comes back as a :class:`CallChange`.

Correlation is by id, never by guessing from names: olive's call id is the
Originate's ChannelId, so it is the Uniqueid of the first channel and the
Linkedid of every channel of the call, agent legs included (transcript 10).
OriginateResponse is matched by ActionID (its Uniqueid is ``<unknown>`` on
failure without a ChannelId). Only for an Originate sent without ChannelId
(the recorded lab transcripts) is the first channel bound by its name.

A call ends when its OriginateResponse has arrived and every channel seen
has hung up. As OriginateResponse may precede the channels' own events
(transcript 15), a failure with no channel yet waits ``settle_s`` for them,
so the far leg's real cause is recorded; :meth:`CallTracker.tick` ends it.

Preview mode, agent first (``originate(..., agent_first=<interface>)``): the
Originate's channel is the agent's, and its OriginateResponse says whether the
agent answered. The customer is the destination of the Dial() the agent's side
runs in [olive-preview] (transcripts 27-33): that dial's DialBegin/DialEnd,
the customer legs' states and causes, and DIALSTATUS decide the customer's
outcome exactly as for any call; DialStatus ANSWER connects it to that agent.
An agent who never answered leaves a call that dialed no customer: it is
marked not placed (the contact's attempt is given back).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from olive import ami
from olive.calls._classify import (
    AGENT_LEFT_FIRST,
    AGENT_NOT_REACHED,
    AMD_MACHINE,
    UNKNOWN_WHY,
    Facts,
    classify,
)
from olive.calls._legs import LegSet, expected_channel_prefix
from olive.calls._model import NOT_PLACED, AbandonReason, AgentRing, CallRecord, CallState
from olive.calls._table import (
    CHANNEL_STATE_SIGNALS,
    DIAL_STATUS_SIGNALS,
    EVENT_SIGNALS,
    Signal,
    transition,
)

log = logging.getLogger("olive.calls")

AMD_EVENT = "oliveamd"  # UserEvent(OliveAMD,Status: ...,Cause: ...) from [olive-amd]
IVR_EVENT = "oliveivr"  # UserEvent(OliveIVR,Key: ...,Status: ...) from [olive-broadcast]


@dataclass(frozen=True, slots=True)
class CallChange:
    """A call's record after an event, and its state before it."""

    record: CallRecord
    previous: CallState

    @property
    def ended(self) -> bool:
        return self.record.state is CallState.ENDED


def _stamp_amd(track: _Track, now: float) -> None:
    """The verdict's time, once: the pacer resolves an AMD call's dial there."""
    if track.record.amd_at is None and track.record.amd_status:
        track.update(amd_at=now)


class _Track:
    """Mutable working state of one call; :attr:`record` is its published snapshot."""

    def __init__(self, record: CallRecord, *, with_channel_id: bool) -> None:
        self.record = record
        self.with_channel_id = with_channel_id
        if record.agent_first:  # the Originate's channel is the agent's; the customer's comes with the Dial()
            self.legs = LegSet(first_uid=record.uniqueid or record.call_id)
        else:
            self.legs = LegSet(customer_uid=record.call_id if with_channel_id else None)
        self.or_seen = False
        self.or_success: bool | None = None  # the first OriginateResponse's answer: it stands
        self.dial_began = False
        self.cancelled_by_olive = False
        self.queue_abandoned = False
        self.hangup_before_abandon = False
        self.untracked = False
        self.known_unanswered = False  # gone unseen, but Asterisk would have recorded an answer
        self.settle_deadline: float | None = None
        self.answer_by: float | None = None  # no OriginateResponse by then: ask Asterisk (see overdue())

    def update(self, **fields: object) -> None:
        # A new snapshot only when a field changes: most events repeat what is known, and an
        # unchanged record (the same object) tells ``_changed`` at once that nothing moved.
        rec = self.record
        for name, value in fields.items():
            if getattr(rec, name) != value:
                self.record = replace(rec, **fields)  # type: ignore[arg-type]
                return

    def signal(self, signal: Signal) -> None:
        state = transition(self.record.state, signal)
        if state is not self.record.state:
            self.record = replace(self.record, state=state)


class CallTracker:
    def __init__(self, *, settle_s: float = 1.0, recheck_s: float = 30.0) -> None:
        self.settle_s = settle_s
        self.recheck_s = recheck_s  # a call that exists but never got its OriginateResponse: asked again after
        self._calls: dict[str, _Track] = {}
        self._by_linkedid: dict[str, _Track] = {}
        self._by_action: dict[str, _Track] = {}
        self._unbound: list[_Track] = []  # Originates without ChannelId, awaiting their channel

    # -- what the engine tells us ------------------------------------------------
    def originate(
        self,
        call_id: str,
        *,
        action_id: str | None,
        dial_string: str,
        now: float,
        with_channel_id: bool = True,
        answer_by: float | None = None,
        agent_first: str | None = None,
    ) -> CallRecord:
        """Register an attempt before its Originate is sent. ``answer_by``: when its
        OriginateResponse is overdue (dial timeout plus a margin; see :meth:`overdue`).
        ``agent_first``: preview mode's agent-first call: the agent's interface, which the
        Originate calls before [olive-preview] dials the customer."""
        if call_id in self._calls:
            raise ValueError(f"call {call_id} is already tracked")
        record = CallRecord(
            call_id=call_id,
            state=CallState.ORIGINATING,
            dial_string=dial_string,
            action_id=action_id,
            originated_at=now,
            linkedid=call_id if with_channel_id else None,
            uniqueid=call_id if with_channel_id else None,
            agent_first=agent_first,
        )
        track = _Track(record, with_channel_id=with_channel_id)
        track.answer_by = answer_by
        self._add(track)
        return record

    def adopt(self, record: CallRecord) -> None:
        """Track again a call known from the store (after a restart)."""
        if record.state is CallState.ENDED or record.call_id in self._calls:
            return
        track = _Track(record, with_channel_id=record.linkedid == record.call_id)
        if record.uniqueid and not record.agent_first:
            track.legs.customer_uid = record.uniqueid
        self._add(track)

    def _add(self, track: _Track) -> None:
        rec = track.record
        self._calls[rec.call_id] = track
        if rec.action_id:
            self._by_action[rec.action_id] = track
        if rec.linkedid:
            self._by_linkedid[rec.linkedid] = track
        else:
            self._unbound.append(track)

    def originate_refused(self, call_id: str, now: float, message: str, *, passing: bool = False) -> list[CallChange]:
        """Asterisk answered the Originate action itself with an Error: no call exists.
        ``passing``: for a reason that says nothing about the number (Asterisk shutting
        down), so the attempt is marked ``not_placed`` and costs its contact nothing."""
        track = self._calls.get(call_id)
        if track is None:
            return []
        track.or_seen = True
        if passing:
            track.update(not_placed=True)
            return self._end(track, now, detail=f"{NOT_PLACED}: Originate refused: {message}")
        return self._end(track, now, detail=f"Originate refused: {message}")

    def cancel(self, call_id: str) -> None:
        """olive is hanging this call up on purpose (a forced stop)."""
        if (track := self._calls.get(call_id)) is not None:
            track.cancelled_by_olive = True

    def lost_sight(self, call_ids: Iterable[str]) -> None:
        """The AMI connection dropped: these calls' events may be missing."""
        for call_id in call_ids:
            if (track := self._calls.get(call_id)) is not None:
                track.untracked = True

    def overdue(self, now: float) -> list[str]:
        """Calls whose OriginateResponse is overdue: the caller asks Asterisk about them
        (:meth:`reconcile` with ``only``). Each is returned once per deadline."""
        out: list[str] = []
        for track in self._calls.values():
            if track.answer_by is not None and now >= track.answer_by and not track.or_seen:
                track.answer_by = None
                out.append(track.record.call_id)
        return out

    def recheck(self, call_ids: Iterable[str], now: float) -> None:
        """Asking about these overdue calls failed: ask again after ``recheck_s``."""
        for call_id in call_ids:
            if (track := self._calls.get(call_id)) is not None and not track.or_seen:
                track.answer_by = now + self.recheck_s

    # -- queries ------------------------------------------------------------------
    def get(self, call_id: str) -> CallRecord | None:
        track = self._calls.get(call_id)
        return track.record if track else None

    def active(self) -> list[CallRecord]:
        return [t.record for t in self._calls.values()]

    def __len__(self) -> int:
        return len(self._calls)

    # -- events -------------------------------------------------------------------
    def handle(self, event: ami.TypedEvent, now: float) -> list[CallChange]:
        """Apply one event; return the calls it changed."""
        if isinstance(event, ami.OriginateResponse):
            track = self._by_action.get(event.action_id or "") or (
                self._calls.get(event.uniqueid) if event.uniqueid else None
            )
            if track is None:
                return []
            before = track.record
            self._on_originate_response(track, event, now)
            return self._changed(track, before, now)
        ref = _ref_of(event)
        if ref is None:
            if isinstance(event, ami.AgentComplete):
                return self._on_caller_less_complete(event, now)
            return []
        track = self._track_for(ref, event, now)
        if track is None:
            return []
        before = track.record
        self._apply(track, event, ref, now)
        return self._changed(track, before, now)

    def tick(self, now: float) -> list[CallChange]:
        """End calls whose settle time has passed."""
        changes: list[CallChange] = []
        for track in list(self._calls.values()):
            if track.settle_deadline is None or now < track.settle_deadline:
                continue
            if len(track.legs) > 0 and not track.legs.customer_side_gone():
                track.settle_deadline = None  # legs appeared meanwhile: wait for their hangups
                continue
            changes.extend(self._end(track, now))
        return changes

    def reconcile(
        self,
        channels: Sequence[ami.CoreShowChannel],
        now: float,
        *,
        gone: str = "ended while AMI was disconnected",
        only: Iterable[str] | None = None,
        results: Mapping[str, str] | None = None,
        answers_seen: bool = False,
    ) -> list[CallChange]:
        """Align active calls (every one, or ``only`` these ids) with Asterisk's channel list.

        ``gone`` is the record's detail for a call none of whose channels exists.
        ``results``: what the dialplan left in AstDB for such calls, by call id
        (``CONNECTED|interface|QUEUESTATUS|END`` or ``ABANDONED||QUEUESTATUS|END``; END,
        when the hangup handler ran, in Unix seconds, is missing from older dialplans).
        ``answers_seen``: an answer would not have gone unnoticed (olive was watching,
        or the dialplan records every answered call in AstDB), so a gone call with no
        answer and no result was not answered, rather than of unknown outcome.
        """
        alive: dict[str, list[ami.CoreShowChannel]] = {}
        for ch in channels:
            alive.setdefault(ch.ref.linkedid, []).append(ch)
        changes: list[CallChange] = []
        wanted = None if only is None else set(only)
        for track in list(self._calls.values()):
            if wanted is not None and track.record.call_id not in wanted:
                continue
            rec, before = track.record, track.record
            present = alive.get(rec.linkedid or "", [])
            for leg in track.legs:
                if not leg.hung_up and all(c.ref.uniqueid != leg.uniqueid for c in present):
                    leg.hung_up = True  # it went away while we were not looking
            if not present:
                track.untracked = True
                track.or_seen = True
                result = (results or {}).get(rec.call_id)
                if result is not None:
                    ended = _learn(track, result, now)
                    changes.extend(self._end(track, ended, detail=f"{gone}; result read back from Asterisk (AstDB)"))
                elif answers_seen and rec.answered_at is None:
                    track.known_unanswered = True
                    changes.extend(self._end(track, now, detail=f"{gone}; it was not answered"))
                else:
                    changes.extend(self._end(track, now, detail=gone))
                continue
            for ch in present:
                track.legs.see(ch.ref.uniqueid, ch.ref.channel)
            if not track.or_seen:
                track.answer_by = now + self.recheck_s  # its OriginateResponse may be lost: ask again later
            # Still there: its next events will come. What happened in the gap is
            # inferred from the channels; the times are when olive saw it again.
            track.untracked = False
            seen_late: list[str] = []
            if rec.agent_first:
                # The agent's channel is up from their answer: only a bridge says the customer answered.
                self._reconcile_agent_first(track, present, now, seen_late)
            else:
                self._reconcile_customer_first(track, present, now, seen_late)
            if seen_late:
                track.update(detail=f"{' and '.join(seen_late)} happened while AMI was disconnected; times approximate")
            changes.extend(self._changed(track, before, now))
        return changes

    def _reconcile_customer_first(
        self, track: _Track, present: Sequence[ami.CoreShowChannel], now: float, seen_late: list[str]
    ) -> None:
        if any(c.state == ami.ChannelState.UP for c in present):
            track.or_seen = True  # answered, so its OriginateResponse (Success) went by
            if track.record.answered_at is None:
                track.update(answered_at=now)
                seen_late.append("answer")
        if any(c.bridge_id for c in present) and any(c.application in ("AppQueue", "AppDial") for c in present):
            if track.record.agent_connected_at is None:
                track.update(agent_connected_at=now)
                seen_late.append("agent connect")
            track.signal(Signal.AGENT_CONNECTED)
        elif any(c.application == "Queue" for c in present):
            if track.record.queued_at is None:
                track.update(queued_at=now)
            track.signal(Signal.QUEUED)
        elif track.record.answered_at is not None:
            track.signal(Signal.ANSWERED)
        else:
            track.signal(Signal.DIALING)

    def _reconcile_agent_first(
        self, track: _Track, present: Sequence[ami.CoreShowChannel], now: float, seen_late: list[str]
    ) -> None:
        """Agent first, seen again: any channel up means the agent answered; the customer's
        leg (AppDial) bridged to the agent's means they were connected."""
        rec = track.record
        if any(c.state == ami.ChannelState.UP for c in present):
            track.or_seen = True
            if rec.agent_answered_at is None:
                track.update(agent_answered_at=now)
        if any(c.bridge_id for c in present) and any(c.application == "AppDial" for c in present):
            if rec.answered_at is None:
                track.update(answered_at=now)
            if rec.agent_connected_at is None:
                track.update(agent_connected_at=now, agent_interface=rec.agent_first)
                seen_late.append("agent connect")
            track.signal(Signal.AGENT_CONNECTED)
        elif any(c.application == "AppDial" for c in present):
            track.dial_began = True
            track.signal(Signal.DIALING)

    # -- internals ----------------------------------------------------------------
    def _on_caller_less_complete(self, event: ami.AgentComplete, now: float) -> list[CallChange]:
        """An AgentComplete without the caller (transcript 18): the call is the one
        the agent leg's Linkedid names, else the one connected to that member."""
        track = self._by_linkedid.get(event.dest.linkedid) if event.dest else None
        if track is None:
            connected = [
                t for t in self._calls.values()
                if t.record.agent_interface == event.interface and t.record.queue in (None, event.queue)
            ]
            track = max(connected, key=lambda t: t.record.agent_connected_at or 0.0, default=None)
        if track is None:
            return []
        before = track.record
        track.update(asterisk_talk_time_s=event.talk_time_s)
        return self._changed(track, before, now)

    def _track_for(self, ref: ami.ChannelRef, event: ami.TypedEvent, now: float) -> _Track | None:
        track = self._by_linkedid.get(ref.linkedid)
        if track is not None:
            return track
        if isinstance(event, ami.Newchannel) and ref.uniqueid == ref.linkedid:
            for candidate in self._unbound:
                if ref.channel.startswith(expected_channel_prefix(candidate.record.dial_string)):
                    self._bind(candidate, ref.uniqueid)
                    return candidate
        return None

    def _bind(self, track: _Track, uniqueid: str) -> None:
        self._unbound.remove(track)
        track.legs.customer_uid = uniqueid
        track.update(uniqueid=uniqueid, linkedid=uniqueid)
        self._by_linkedid[uniqueid] = track

    def _on_originate_response(self, track: _Track, event: ami.OriginateResponse, now: float) -> None:
        if track.or_success is not None:
            # Asterisk answers each Originate once; a second answer (a duplicate, or a late
            # contradicting one) is ignored, so a late Success cannot answer a busy call.
            if event.success != track.or_success or event.reason != track.record.originate_reason:
                said = f"{'Success' if event.success else 'Failure'} Reason {event.reason}"
                log.warning("call %s: ignored a contradictory OriginateResponse (%s)", track.record.call_id, said)
                note = f"contradictory OriginateResponse ignored ({said})"
                if note not in (track.record.detail or ""):
                    track.update(detail="; ".join(p for p in (track.record.detail, note) if p))
            return
        track.or_seen = True
        track.or_success = event.success
        track.update(originate_reason=event.reason)
        if event.uniqueid and track in self._unbound:
            self._bind(track, event.uniqueid)
        if event.success:
            if event.channel:
                track.update(channel=event.channel)
            if track.record.agent_first:  # the agent answered; the customer is still to be dialed
                if track.record.agent_answered_at is None:
                    track.update(agent_answered_at=now)
                return
            self._signal(track, Signal.ANSWERED, now)
        elif event.reason == ami.OriginateReason.ANSWERED:
            log.warning("call %s: OriginateResponse Failure with Reason 4", track.record.call_id)

    def _apply(self, track: _Track, event: ami.TypedEvent, ref: ami.ChannelRef, now: float) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, track, event, ref, now)

    def _on_newchannel(self, track: _Track, event: ami.Newchannel, ref: ami.ChannelRef, now: float) -> None:
        legs = track.legs
        legs.see(ref.uniqueid, ref.channel)
        if ref.uniqueid == (legs.first_uid or legs.customer_uid) and track.record.channel is None:
            track.update(channel=ref.channel)
        if track.record.agent_first:
            return  # the agent's legs, or the customer's before their DialBegin: it says when the customer rings
        self._signal(track, EVENT_SIGNALS[ami.Newchannel], now)

    def _on_newstate(self, track: _Track, event: ami.Newstate, ref: ami.ChannelRef, now: float) -> None:
        legs = track.legs
        legs.see(ref.uniqueid, ref.channel)
        if legs.is_customer_side(ref.uniqueid) or ref.uniqueid == legs.trunk_uid:
            signal = CHANNEL_STATE_SIGNALS.get(event.state)
            if signal is not None:
                self._signal(track, signal, now)

    def _on_hangup_request(self, track: _Track, event: ami.HangupRequest, ref: ami.ChannelRef, now: float) -> None:
        leg = track.legs.get(ref.uniqueid)
        if leg is not None:
            leg.hangup_requested = True

    def _on_hangup(self, track: _Track, event: ami.Hangup, ref: ami.ChannelRef, now: float) -> None:
        leg = track.legs.see(ref.uniqueid, ref.channel)
        leg.hung_up, leg.cause, leg.cause_txt = True, event.cause, event.cause_txt

    def _on_queue_join(self, track: _Track, event: ami.QueueCallerJoin, ref: ami.ChannelRef, now: float) -> None:
        track.legs.queue_uid = ref.uniqueid
        if track.record.queued_at is None:
            track.update(queued_at=now, queue=event.queue)
        self._signal(track, Signal.ANSWERED, now)
        self._signal(track, EVENT_SIGNALS[ami.QueueCallerJoin], now)

    def _on_queue_abandon(self, track: _Track, event: ami.QueueCallerAbandon, ref: ami.ChannelRef, now: float) -> None:
        track.queue_abandoned = True
        track.hangup_before_abandon = track.legs.customer_side_hanging_up()
        track.update(asterisk_hold_time_s=event.hold_time_s, left_queue_at=track.record.left_queue_at or now)

    def _on_queue_leave(self, track: _Track, event: ami.QueueCallerLeave, ref: ami.ChannelRef, now: float) -> None:
        if track.record.left_queue_at is None:
            track.update(left_queue_at=now)

    def _on_agent_called(self, track: _Track, event: ami.AgentCalled, ref: ami.ChannelRef, now: float) -> None:
        track.legs.agent_uids.add(event.dest.uniqueid)
        ring = AgentRing(event.interface, event.member_name, now)
        track.update(agents_rung=(*track.record.agents_rung, ring))

    def _on_agent_no_answer(self, track: _Track, event: ami.AgentRingNoAnswer, ref: ami.ChannelRef, now: float) -> None:
        track.update(agents_rung=_mark_no_answer(track.record.agents_rung, event.interface, event.ring_time_ms))

    def _on_agent_connect(self, track: _Track, event: ami.AgentConnect, ref: ami.ChannelRef, now: float) -> None:
        if track.record.agent_connected_at is None:
            track.update(
                agent_connected_at=now,
                agent_interface=event.interface,
                agent_member_name=event.member_name,
                asterisk_hold_time_s=event.hold_time_s,
            )
        self._signal(track, EVENT_SIGNALS[ami.AgentConnect], now)

    def _on_agent_complete(self, track: _Track, event: ami.AgentComplete, ref: ami.ChannelRef, now: float) -> None:
        track.update(asterisk_talk_time_s=event.talk_time_s)

    def _on_user_event(self, track: _Track, event: ami.UserEvent, ref: ami.ChannelRef, now: float) -> None:
        rec = track.record
        if event.name.lower() == AMD_EVENT:
            track.update(amd_status=(event.get("Status") or "").upper() or rec.amd_status,
                         amd_cause=event.get("Cause") or rec.amd_cause)
            _stamp_amd(track, now)
        elif event.name.lower() == IVR_EVENT:
            track.update(agentless=True, ivr_key=(event.get("Key") or "").strip() or rec.ivr_key,
                         ivr_status=(event.get("Status") or "").strip().upper() or rec.ivr_status)

    def _on_dial(self, track: _Track, event: ami.DialBegin | ami.DialEnd, ref: ami.ChannelRef, now: float) -> None:
        """Only the dial towards the customer counts, not the queue ringing agents."""
        legs, caller = track.legs, event.caller
        if track.record.agent_first:
            if caller is None:
                return  # the Originate's own dial of the agent's interface: its OriginateResponse tells
            if caller.uniqueid == legs.first_uid:  # the channel running [olive-preview]
                self._on_agent_dial(track, event, now)
                return
            if legs.is_first_side(caller.uniqueid):
                legs.agent_uids.add(event.dest.uniqueid)  # the agent's Local half ringing their phone (olive-phones.conf)
                return
        if caller is not None:
            if event.dest.uniqueid in legs.agent_uids or caller.uniqueid == legs.queue_uid:
                return
            if not legs.is_customer_side(caller.uniqueid):
                return
            # A ;2 leg dialing out (Local/...@olive-out -> PJSIP trunk): that channel is the far end.
            legs.trunk_uid = event.dest.uniqueid
            legs.see(event.dest.uniqueid, event.dest.channel)
        if isinstance(event, ami.DialBegin):
            track.dial_began = True
            self._signal(track, EVENT_SIGNALS[ami.DialBegin], now)
        else:
            track.update(dial_status=event.dial_status)
            signal = DIAL_STATUS_SIGNALS.get(event.dial_status)
            if signal is not None:
                self._signal(track, signal, now)

    def _on_agent_dial(self, track: _Track, event: ami.DialBegin | ami.DialEnd, now: float) -> None:
        """Agent first: the agent's side dialing the customer ([olive-preview]'s Dial())."""
        legs, dest = track.legs, event.dest
        if legs.customer_uid is None:
            legs.customer_uid = dest.uniqueid
        elif dest.uniqueid != legs.customer_uid:
            return  # another destination (olive's dialplan dials one)
        legs.see(dest.uniqueid, dest.channel)
        if isinstance(event, ami.DialBegin):
            track.dial_began = True
            self._signal(track, Signal.DIALING, now)
            return
        if track.record.dial_status == "ANSWER" and event.dial_status != "ANSWER":
            return  # answered stands
        track.update(dial_status=event.dial_status)
        if event.dial_status == "ANSWER":
            self._signal(track, Signal.ANSWERED, now)
            if track.record.agent_connected_at is None:
                track.update(agent_connected_at=now, agent_interface=track.record.agent_first)
            self._signal(track, Signal.AGENT_CONNECTED, now)

    def _on_varset(self, track: _Track, event: ami.VarSet, ref: ami.ChannelRef, now: float) -> None:
        name = event.variable.upper()
        if name == "DIALSTATUS" and track.record.agent_first:
            # app_dial's result on the agent's channel: there even when no DialBegin was (CHANUNAVAIL).
            if event.value and ref.uniqueid == track.legs.first_uid and track.record.dial_status is None:
                track.update(dial_status=event.value.strip().upper())
            return
        if name == "QUEUESTATUS" or (name == "OLIVE_DROP_REASON" and track.record.queue_status is None):
            track.update(queue_status=event.value)
        elif name == "OLIVE_DROP_PLAYED":
            track.update(drop_message_played=event.value.upper() == "SUCCESS")
        elif name == "AMDSTATUS" and event.value:
            track.update(amd_status=event.value.upper())
            _stamp_amd(track, now)
        elif name == "AMDCAUSE" and event.value:
            track.update(amd_cause=event.value)
        elif name in ("OLIVE_AGENTLESS", "OLIVE_MESSAGE_PLAYED"):
            track.update(agentless=True)
        elif name == "OLIVE_KEY":  # Read()'s own VarSet: there even when the UserEvent is not
            track.update(agentless=True, ivr_key=event.value.strip() or track.record.ivr_key)
        elif name == "READSTATUS" and track.record.agentless and event.value:
            track.update(ivr_status=event.value.strip().upper())

    def _signal(self, track: _Track, signal: Signal, now: float) -> None:
        """Move the call by ``signal``, stamping when it first rang or was answered."""
        if signal is Signal.DIALING and track.record.ringing_at is None:
            track.update(ringing_at=now)
        elif signal is Signal.ANSWERED and track.record.answered_at is None:
            track.update(answered_at=now)
        track.signal(signal)

    def _changed(self, track: _Track, before: CallRecord, now: float) -> list[CallChange]:
        if track.record.state is not CallState.ENDED:
            self._maybe_end(track, now)
        rec = track.record
        # Compared field by field only when a snapshot was made (most events make none).
        return [CallChange(rec, before.state)] if rec is not before and rec != before else []

    def _maybe_end(self, track: _Track, now: float) -> None:
        if not track.or_seen:
            return
        legs = track.legs
        if len(legs) > 0 and legs.all_hung_up():
            self._finish(track, now)
        elif track.settle_deadline is None and (len(legs) == 0 or legs.customer_side_gone()):
            # Late legs (agent legs, or channels announced after the OriginateResponse) get a moment.
            track.settle_deadline = now + self.settle_s

    def _end(self, track: _Track, now: float, detail: str | None = None) -> list[CallChange]:
        before = track.record.state
        self._finish(track, now, detail)
        return [CallChange(track.record, before)]

    def _finish(self, track: _Track, now: float, detail: str | None = None) -> None:
        legs, rec = track.legs, track.record
        cause, cause_txt = legs.far_cause()
        outcome, abandon_reason, why = classify(
            Facts(
                answered=rec.answered_at is not None,
                connected=rec.agent_connected_at is not None,
                cancelled_by_olive=track.cancelled_by_olive,
                # Agent first: a channel of the customer's (neither the agent's nor their phone's).
                channels_seen=any(
                    not legs.is_first_side(leg.uniqueid) and leg.uniqueid not in legs.agent_uids for leg in legs
                ) if rec.agent_first else len(legs) > 0,
                dial_began=track.dial_began,
                dial_status=rec.dial_status,
                far_cause=cause,
                originate_reason=rec.originate_reason,
                queued=rec.queued_at is not None,
                queue_abandoned=track.queue_abandoned,
                queue_status=rec.queue_status,
                hangup_before_abandon=track.hangup_before_abandon,
                untracked=track.untracked,
                amd_status=rec.amd_status,
                agentless=rec.agentless,
                ivr_key=rec.ivr_key,
                agent_first=rec.agent_first is not None,
                agent_answered=rec.agent_answered_at is not None,
                known_unanswered=track.known_unanswered,
            )
        )
        not_dialed = why in (AGENT_NOT_REACHED, AGENT_LEFT_FIRST)
        if not_dialed:
            # No customer was dialed: the attempt is given back (as a refused Originate's is).
            track.update(not_placed=True)
            why = f"{NOT_PLACED}: {why}"
        track.update(
            outcome=outcome,
            abandon_reason=abandon_reason,
            hangup_cause=cause,
            hangup_cause_txt=cause_txt,
            ended_at=now,
            # A call not placed says so first (the store tells attempts apart by that prefix).
            detail="; ".join(part for part in ((why, rec.detail, detail) if not_dialed else (rec.detail, detail, why)) if part),
            # Nothing known, or answered and then lost from sight: maybe it reached an agent.
            outcome_unknown=(why == UNKNOWN_WHY and not track.known_unanswered) or abandon_reason is AbandonReason.UNKNOWN,
        )
        track.signal(Signal.END)
        self._forget(track)

    def _forget(self, track: _Track) -> None:
        rec = track.record
        self._calls.pop(rec.call_id, None)
        if rec.action_id:
            self._by_action.pop(rec.action_id, None)
        if rec.linkedid:
            self._by_linkedid.pop(rec.linkedid, None)
        if track in self._unbound:
            self._unbound.remove(track)


def _learn(track: _Track, result: str, now: float) -> float:
    """Apply the dialplan's record of an answered call olive did not see end
    (``KIND|interface|QUEUESTATUS|EPOCH``, with ``|AMDSTATUS`` from [olive-amd] and
    ``||yes|KEY`` from [olive-broadcast]; agent first, [olive-preview-outcome] writes
    ``CONNECTED|agent|ANSWER|EPOCH`` or ``PREVIEW|agent|DIALSTATUS|EPOCH``); returns when it ended: the handler's ${EPOCH}
    if it wrote one, kept between what olive last saw of the call and ``now`` (a clock
    apart or a bad value moves nothing)."""
    fields = [*result.split("|"), "", "", "", "", "", ""]
    kind, interface, queue_status, end, amd_status, agentless, key = fields[:7]
    rec = track.record
    seen = [t for t in (rec.originated_at, rec.ringing_at, rec.answered_at, rec.agent_connected_at) if t is not None]
    ended = now
    with contextlib.suppress(ValueError):
        stamp = float(end.strip())
        if math.isfinite(stamp):
            ended = min(now, max(stamp, *seen))
    answered_at = rec.answered_at if rec.answered_at is not None else ended
    amd = amd_status.strip().upper()
    if amd:
        track.update(amd_status=amd)
    if kind.strip().upper() == "ABANDONED" and amd in AMD_MACHINE and not queue_status.strip():
        # Never queued: AMD kept it from the agents (MACHINE, or NOTSURE by the plan).
        track.untracked = False
        track.update(answered_at=answered_at)
        return ended
    if agentless.strip():
        track.update(agentless=True, ivr_key=key.strip() or rec.ivr_key)
        if kind.strip().upper() == "ABANDONED" and not queue_status.strip():
            # Never queued: the agentless message played (and maybe a key was read).
            track.untracked = False
            track.update(answered_at=answered_at)
            return ended
    if kind.strip().upper() == "PREVIEW":
        # Agent first ([olive-preview-outcome]): the agent answered; the customer's dial ended
        # unanswered (its DIALSTATUS), or the agent hung up before it did (CANCEL).
        dial_status = queue_status.strip().upper()
        track.untracked = False
        track.update(agent_answered_at=rec.agent_answered_at or ended, dial_status=rec.dial_status or dial_status or None)
        if dial_status:
            track.dial_began = True
        return ended
    if kind.strip().upper() == "CONNECTED":
        track.update(
            answered_at=answered_at,
            agent_connected_at=rec.agent_connected_at if rec.agent_connected_at is not None else ended,
            agent_interface=rec.agent_interface or interface.strip() or None,
        )
    elif kind.strip().upper() == "ABANDONED":
        # Known, not guessed: the queue gave up (QUEUESTATUS=TIMEOUT) or the customer hung up.
        status = queue_status.strip() or rec.queue_status
        track.untracked = False
        track.queue_abandoned = True
        track.hangup_before_abandon = (status or "").upper() != "TIMEOUT"
        track.update(answered_at=answered_at, queued_at=rec.queued_at or answered_at, queue_status=status)
    return ended


def _ref_of(event: ami.TypedEvent) -> ami.ChannelRef | None:
    if isinstance(event, (ami.DialBegin, ami.DialEnd)):
        return event.caller or event.dest
    ref = getattr(event, "ref", None)
    return ref if isinstance(ref, ami.ChannelRef) else None


def _mark_no_answer(rings: tuple[AgentRing, ...], interface: str, ring_ms: int) -> tuple[AgentRing, ...]:
    out = list(rings)
    for i in range(len(out) - 1, -1, -1):
        if out[i].interface == interface and out[i].ring_ms is None:
            out[i] = replace(out[i], ring_ms=ring_ms)
            break
    return tuple(out)


#: Which of the tracker's handlers each event type goes to (events of other types carry
#: nothing about a call). Each handler records the event's facts and gives the call the
#: signal the tables in calls/_table.py name.
_HANDLERS: dict[type[ami.TypedEvent], Callable[[CallTracker, _Track, Any, ami.ChannelRef, float], None]] = {
    ami.Newchannel: CallTracker._on_newchannel,
    ami.Newstate: CallTracker._on_newstate,
    ami.DialBegin: CallTracker._on_dial,
    ami.DialEnd: CallTracker._on_dial,
    ami.HangupRequest: CallTracker._on_hangup_request,
    ami.Hangup: CallTracker._on_hangup,
    ami.QueueCallerJoin: CallTracker._on_queue_join,
    ami.QueueCallerAbandon: CallTracker._on_queue_abandon,
    ami.QueueCallerLeave: CallTracker._on_queue_leave,
    ami.AgentCalled: CallTracker._on_agent_called,
    ami.AgentRingNoAnswer: CallTracker._on_agent_no_answer,
    ami.AgentConnect: CallTracker._on_agent_connect,
    ami.AgentComplete: CallTracker._on_agent_complete,
    ami.VarSet: CallTracker._on_varset,
    ami.UserEvent: CallTracker._on_user_event,
}
