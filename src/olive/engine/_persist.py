"""The engine's reads and writes, one transaction per tick.

Write-ahead: a call's row is committed, and its contact claimed, *before*
its Originate is sent, so a crash at any point leaves a record to reconcile
and the contact cannot be dialed by anyone else meanwhile.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from olive.calls import AgentActivity, AgentChange, CallChange, CallRecord, CallState
from olive.compliance import NextStep, NumberHistory, after_attempt, counts_as_attempt
from olive.engine._optout import opt_out_step, opted_out
from olive.store import (
    Agent,
    Call,
    Contact,
    ContactNumber,
    as_utc,
    claim_contact,
    open_calls,
    release_contact,
    to_epoch,
)

# What the agents table says for each tracked activity. LOGGED_OUT is not
# written: only an explicit logout (API/CLI) ends an agent's shift, and a
# member that vanished from a queue (Asterisk restart) is added back; until
# then they are ready (or paused), never left on a call that no longer exists.
AGENT_STATE = {
    AgentActivity.IDLE: "ready",
    AgentActivity.RINGING: "ringing",
    AgentActivity.TALKING: "on_call",
    AgentActivity.WRAPUP: "wrap_up",
    AgentActivity.PAUSED: "paused",
    AgentActivity.BUSY: "on_call",
    AgentActivity.UNAVAILABLE: "paused",
}


@dataclass(frozen=True, slots=True)
class DialIntent:
    """One attempt the engine decided to make, before its Originate goes out."""

    call_id: str
    campaign_id: str
    contact_id: str
    contact_number_id: str
    number: str
    attempt: int
    server: str
    dial_string: str
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EndedCall:
    record: CallRecord
    campaign_id: str
    contact_id: str | None
    next_step: NextStep | None


def write_ahead(session: Session, intent: DialIntent, plan_snapshot: Mapping[str, Any], now: float) -> bool:
    """Claim the contact and insert the call row. False if someone else holds the contact."""
    if not claim_contact(session, intent.contact_id, intent.call_id):
        return False
    session.add(
        Call(
            id=intent.call_id,
            campaign_id=intent.campaign_id,
            contact_id=intent.contact_id,
            contact_number_id=intent.contact_number_id,
            number=intent.number,
            attempt=intent.attempt,
            server=intent.server,
            state=CallState.ORIGINATING.value,
            originated_at=as_utc(now),
            uniqueid=intent.call_id,
            linkedid=intent.call_id,
            plan_snapshot=dict(plan_snapshot),
        )
    )
    contact = session.get(Contact, intent.contact_id)
    number = session.get(ContactNumber, intent.contact_number_id)
    if contact is not None:
        contact.attempts += 1
    if number is not None:
        number.attempts += 1
        number.last_attempt_at = as_utc(now)
    session.flush()
    return True


def load_open_calls(session: Session, server: str) -> list[CallRecord]:
    """Calls this server had in progress when olive stopped: to be tracked again."""
    return [
        CallRecord(
            call_id=c.id,
            state=CallState(c.state),
            dial_string=c.number,
            action_id=c.action_id,
            originated_at=to_epoch(c.originated_at),
            uniqueid=c.uniqueid,
            linkedid=c.linkedid,
            channel=c.channel,
            answered_at=_epoch(c.answered_at),
            queued_at=_epoch(c.queued_at),
            agent_connected_at=_epoch(c.agent_connected_at),
            agent_interface=c.agent_interface,
            # An agentless call keeps what olive knew of it (its VarSets will not come again).
            agentless=(c.plan_snapshot or {}).get("dial_mode") == "agentless",
            ivr_key=c.ivr_key,
        )
        for c in open_calls(session, server)
    ]


def apply_call_changes(session: Session, changes: Iterable[CallChange], agent_ids: Mapping[str, str]) -> list[EndedCall]:
    ended: list[EndedCall] = []
    for change in changes:
        rec = change.record
        call = session.get(Call, rec.call_id)
        if call is None:
            continue
        _copy(call, rec, agent_ids)
        if change.ended:
            step = _finish_contact(session, call, rec)
            ended.append(EndedCall(rec, call.campaign_id, call.contact_id, step))
    session.flush()
    return ended


def _copy(call: Call, rec: CallRecord, agent_ids: Mapping[str, str]) -> None:
    call.state = rec.state.value
    call.originated_at = as_utc(rec.originated_at)  # when the Originate went out
    call.action_id = rec.action_id or call.action_id
    call.uniqueid = rec.uniqueid or call.uniqueid
    call.linkedid = rec.linkedid or call.linkedid
    call.channel = rec.channel or call.channel
    call.originate_reason = rec.originate_reason
    call.dial_status = rec.dial_status
    for name in ("answered_at", "queued_at", "agent_connected_at", "ended_at"):
        value = getattr(rec, name)
        setattr(call, name, None if value is None else as_utc(value))
    call.agent_interface = rec.agent_interface
    call.ivr_key, call.ivr_status = rec.ivr_key, rec.ivr_status  # stored as soon as known: a restart keeps it
    if rec.agent_interface:
        call.agent_id = agent_ids.get(rec.agent_interface)
    call.agents_no_answer = [
        {"interface": r.interface, "member_name": r.member_name, "ring_ms": r.ring_ms, "at": as_utc(r.at).isoformat()}
        for r in rec.agents_no_answer
    ]
    if rec.outcome is not None:
        call.outcome = rec.outcome.value
        call.hangup_cause = rec.hangup_cause
        call.hangup_cause_txt = rec.hangup_cause_txt
        call.abandon_reason = rec.abandon_reason.value if rec.abandon_reason else None
        call.drop_message_played = rec.drop_message_played
        call.amd_status, call.amd_cause = rec.amd_status, rec.amd_cause
        call.customer_wait_s = rec.customer_wait_s
        call.talk_s = rec.talk_s
        call.ring_s = rec.ring_s
        call.detail = rec.detail


def _finish_contact(session: Session, call: Call, rec: CallRecord) -> NextStep | None:
    """Release the contact with its next step from the plan's retry rules."""
    if call.contact_id is None or rec.outcome is None or rec.ended_at is None:
        return None
    contact = session.get(Contact, call.contact_id)
    if contact is None:
        return None
    if rec.not_placed:
        return _not_placed(session, contact, call, rec.ended_at)
    numbers = list(
        session.scalars(select(ContactNumber).where(ContactNumber.contact_id == contact.id).order_by(ContactNumber.position))
    )
    counts: dict[str, Counter[str]] = {n.id: Counter() for n in numbers}
    rows = session.execute(
        select(Call.contact_number_id, Call.outcome, func.count())
        .where(Call.contact_id == contact.id, Call.outcome.is_not(None), counts_as_attempt())
        .group_by(Call.contact_number_id, Call.outcome)
    )
    for number_id, outcome, total in rows:
        if number_id in counts and outcome:
            counts[number_id][outcome] += int(total)
    outcome = rec.outcome.value
    if rec.outcome_unknown and call.contact_number_id in counts:
        # Maybe answered, maybe even by an agent: not retried as if unreached, unless
        # the plan has an UNKNOWN rule.
        tally = counts[call.contact_number_id]
        tally[outcome] -= 1
        tally["UNKNOWN"] += 1
        outcome = "UNKNOWN"
    history = [NumberHistory(n.position, dict(counts[n.id])) for n in numbers]
    tried = next((i for i, n in enumerate(numbers) if n.id == call.contact_number_id), 0)
    step = after_attempt(history, tried, outcome, call.plan_snapshot.get("retry_rules"), rec.ended_at)
    if opted_out(session, call, rec):  # agentless: the opt-out key stops the number now
        step = opt_out_step(step, rec.ivr_key)
    for n in numbers:
        if n.id == call.contact_number_id:
            n.last_outcome = rec.outcome.value
    contact.next_number_index = step.next_number_index
    release_contact(
        session,
        contact.id,
        call.id,
        status=step.status,
        next_attempt_at=step.next_attempt_at,
        last_outcome=rec.outcome.value,
    )
    return step


def _not_placed(session: Session, contact: Contact, call: Call, now: float) -> NextStep:
    """Asterisk placed no call (it refused the Originate while shutting down): the attempt
    the write-ahead counted is given back and the same number is due again at once.
    The record stays (FAILED, with why): one record per Originate."""
    contact.attempts = max(0, contact.attempts - 1)
    number = session.get(ContactNumber, call.contact_number_id) if call.contact_number_id else None
    if number is not None:
        number.attempts = max(0, number.attempts - 1)
    step = NextStep("pending", now, contact.next_number_index, "not placed: Asterisk refused it while shutting down")
    release_contact(session, contact.id, call.id, status=step.status, next_attempt_at=now)
    return step


def apply_agent_changes(session: Session, changes: Sequence[AgentChange]) -> dict[str, Agent]:
    """Mirror tracked agent activity into the agents table; returns the agents touched."""
    touched: dict[str, Agent] = {}
    for change in changes:
        st = change.status
        agent = session.scalars(select(Agent).where(Agent.interface == st.interface)).first()
        if agent is None or agent.state == "logged_out":
            continue
        if st.activity is AgentActivity.LOGGED_OUT:
            # Out of every queue but still logged in (Asterisk restarted): any call olive
            # had them on is over; they are what they were apart from it, until re-added.
            agent.state = "paused" if agent.pause_reason else "ready"
            agent.state_since = as_utc(st.since)
            agent.current_call_id = None
            touched[agent.id] = agent
            continue
        agent.state = AGENT_STATE[st.activity]
        agent.pause_reason = st.paused_reason or ("unavailable" if st.activity is AgentActivity.UNAVAILABLE else None)
        agent.state_since = as_utc(st.since)
        agent.current_call_id = st.call_id
        touched[agent.id] = agent
    session.flush()
    return touched


def _epoch(value: Any) -> float | None:
    return None if value is None else to_epoch(value)


__all__ = [
    "AGENT_STATE",
    "DialIntent",
    "EndedCall",
    "apply_agent_changes",
    "apply_call_changes",
    "load_open_calls",
    "write_ahead",
]
