"""The engine's reads and writes, one transaction per tick.

Write-ahead: a call's row is committed, and its contact claimed, *before*
its Originate is sent, so a crash at any point leaves a record to reconcile
and the contact cannot be dialed by anyone else meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from olive.calls import AgentActivity, AgentChange, CallChange, CallRecord, CallState
from olive.compliance import NextStep, NumberHistory, after_attempt, counts_as_attempt
from olive.engine._optout import opt_out_step, opted_out
from olive.store import (
    Agent,
    AgentState,
    Call,
    NewCall,
    Release,
    agent_states,
    as_utc,
    calls_by_id,
    claim_and_insert_calls,
    finish_facts,
    open_calls,
    release_contacts,
    to_epoch,
    update_agents,
    update_calls,
    utcnow,
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
    # Preview mode, agent first: the Originate calls this agent's interface into [olive-preview],
    # whose Dial() calls ``dial_string`` once the agent answers (None: the customer is called first).
    agent_first: str | None = None


@dataclass(frozen=True, slots=True)
class EndedCall:
    record: CallRecord
    campaign_id: str
    contact_id: str | None
    next_step: NextStep | None


def write_ahead(session: Session, intent: DialIntent, plan_snapshot: Mapping[str, Any], now: float) -> bool:
    """Claim the contact and insert the call row. False if someone else holds the contact."""
    return intent.call_id in write_ahead_all(session, [(intent, plan_snapshot)], now)


def write_ahead_all(session: Session, intents: Sequence[tuple[DialIntent, Mapping[str, Any]]], now: float) -> set[str]:
    """Claim the contacts and insert the call rows of a tick's dials, in a few statements.
    Returns the call ids written: a contact someone else holds is not dialed."""
    return claim_and_insert_calls(
        session,
        [
            NewCall(
                call_id=i.call_id,
                campaign_id=i.campaign_id,
                contact_id=i.contact_id,
                contact_number_id=i.contact_number_id,
                number=i.number,
                attempt=i.attempt,
                server=i.server,
                plan_snapshot=plan,
            )
            for i, plan in intents
        ],
        as_utc(now),
    )


def load_open_calls(session: Session, server: str) -> list[CallRecord]:
    """Calls this server had in progress when olive stopped: to be tracked again."""
    calls = open_calls(session, server)
    # Preview mode dials agent first: the agent the call was placed for is the one olive rang.
    owners = {a: agent for a in {c.for_agent_id for c in calls if c.for_agent_id and _preview(c)}
              if a and (agent := session.get(Agent, a)) is not None}
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
            agent_first=owners[c.for_agent_id].interface if _preview(c) and c.for_agent_id in owners else None,
        )
        for c in calls
    ]


def _preview(call: Call) -> bool:
    return (call.plan_snapshot or {}).get("dial_mode") == "preview"



def apply_call_changes(session: Session, changes: Iterable[CallChange], agent_ids: Mapping[str, str]) -> list[EndedCall]:
    """Store a tick's call changes; release the contacts of the calls that ended.

    Each call is written by id from its last change, in one statement per set of
    columns (:func:`~olive.store.update_calls`), none loaded to be copied onto; the
    ended calls are loaded (their contacts are released by their rows), and their
    contacts read and released in a few statements."""
    # A call's records only add to what was known (each is the whole call as of its event),
    # so the last of a tick's changes of a call is all there is to copy: one copy per call.
    latest = {c.record.call_id: c for c in changes}
    calls = calls_by_id(session, [call_id for call_id, c in latest.items() if c.ended])
    update_calls(session, [_columns(c.record, agent_ids) for c in latest.values()])  # the outcomes are in before the retry rule counts them
    ended = [(call, c.record) for call_id, c in latest.items() if c.ended and (call := calls.get(call_id)) is not None]
    steps = _finish_contacts(session, ended)
    return [EndedCall(rec, call.campaign_id, call.contact_id, steps.get(call.id)) for call, rec in ended]


def _columns(rec: CallRecord, agent_ids: Mapping[str, str]) -> dict[str, Any]:
    """A call's record as columns by name, to write by id: a column the record has no value
    for (``action_id``, ``uniqueid``, ``linkedid``, ``channel``) is left out, so the row keeps
    its own (tests/engine/test_persist_columns.py compares it with a copy onto a loaded call)."""
    row: dict[str, Any] = {
        "id": rec.call_id,
        "state": rec.state.value,
        "originated_at": as_utc(rec.originated_at),
        "originate_reason": rec.originate_reason,
        "dial_status": rec.dial_status,
        "agent_interface": rec.agent_interface,
        "ivr_key": rec.ivr_key,
        "ivr_status": rec.ivr_status,
        "agents_no_answer": _no_answer(rec),
    }
    for name in ("action_id", "uniqueid", "linkedid", "channel"):
        if value := getattr(rec, name):
            row[name] = value
    for name in ("answered_at", "queued_at", "agent_connected_at", "ended_at"):
        value = getattr(rec, name)
        row[name] = None if value is None else as_utc(value)
    if rec.agent_interface:
        row["agent_id"] = agent_ids.get(rec.agent_interface)
    if rec.outcome is not None:
        row.update(
            outcome=rec.outcome.value, hangup_cause=rec.hangup_cause, hangup_cause_txt=rec.hangup_cause_txt,
            abandon_reason=rec.abandon_reason.value if rec.abandon_reason else None,
            drop_message_played=rec.drop_message_played, amd_status=rec.amd_status, amd_cause=rec.amd_cause,
            customer_wait_s=rec.customer_wait_s, talk_s=rec.talk_s, ring_s=rec.ring_s, detail=rec.detail,
        )
    return row


def _no_answer(rec: CallRecord) -> list[dict[str, Any]]:
    return [
        {"interface": r.interface, "member_name": r.member_name, "ring_ms": r.ring_ms, "at": as_utc(r.at).isoformat()}
        for r in rec.agents_no_answer
    ]


def _finish_contacts(session: Session, ended: Sequence[tuple[Call, CallRecord]]) -> dict[str, NextStep]:
    """Release each ended call's contact with its next step from the plan's retry rules.
    Returns the steps by call id."""
    finishing = [
        (call, rec)
        for call, rec in {call.id: (call, rec) for call, rec in ended}.values()
        if call.contact_id is not None and rec.outcome is not None and rec.ended_at is not None
    ]
    if not finishing:
        return {}
    facts = finish_facts(session, (call.contact_id for call, _ in finishing if call.contact_id), counts_as_attempt())
    steps: dict[str, NextStep] = {}
    releases: list[Release] = []
    for call, rec in finishing:
        fact = facts.get(call.contact_id or "")
        if fact is None or rec.outcome is None or rec.ended_at is None:
            continue
        if rec.not_placed:
            # Asterisk placed no call (it refused the Originate while shutting down, or a
            # preview's agent never answered, so the customer was not dialed): the
            # attempt the write-ahead counted is given back and the same number is due
            # again at once. The record stays (FAILED, with why): one record per Originate.
            why = "the agent did not answer" if rec.agent_first else "Asterisk refused it while shutting down"
            step = NextStep("pending", rec.ended_at, fact.next_number_index, f"not placed: {why}")
            releases.append(
                Release(
                    fact.contact_id, call.id, "pending", as_utc(rec.ended_at),
                    number_id=call.contact_number_id, give_back_attempt=True,
                )
            )
            steps[call.id] = step
            continue
        outcome = rec.outcome.value
        counts = fact.counts
        if rec.outcome_unknown and call.contact_number_id in counts:
            # Maybe answered, maybe even by an agent: not retried as if unreached, unless
            # the plan has an UNKNOWN rule.
            tally = counts[call.contact_number_id]
            tally[outcome] -= 1
            tally["UNKNOWN"] += 1
            outcome = "UNKNOWN"
        history = [NumberHistory(position, dict(counts[number_id])) for number_id, position in fact.numbers]
        tried = next((i for i, (number_id, _) in enumerate(fact.numbers) if number_id == call.contact_number_id), 0)
        step = after_attempt(history, tried, outcome, call.plan_snapshot.get("retry_rules"), rec.ended_at)
        if opted_out(session, call, rec):  # agentless: the opt-out key stops the number now
            step = opt_out_step(step, rec.ivr_key)
        releases.append(
            Release(
                fact.contact_id,
                call.id,
                step.status,
                None if step.next_attempt_at is None else as_utc(step.next_attempt_at),
                next_number_index=step.next_number_index,
                last_outcome=rec.outcome.value,
                number_id=call.contact_number_id if call.contact_number_id in counts else None,
            )
        )
        steps[call.id] = step
    release_contacts(session, releases, utcnow())
    return steps


def apply_agent_changes(
    session: Session, changes: Sequence[AgentChange], *, lock_in_order: bool = True
) -> dict[str, AgentState]:
    """Mirror tracked agent activity into the agents table; returns the agents touched, by id,
    as written. Read in one query and written in one statement (by id), not as ORM objects
    (``lock_in_order``: see :func:`olive.store.update_agents`)."""
    touched: dict[str, AgentState] = {}
    agents = agent_states(session, (c.status.interface for c in changes))
    for change in changes:  # in order: an agent's last change of the tick is what is written
        st = change.status
        agent = agents.get(st.interface)
        if agent is None or agent.state == "logged_out":
            continue
        if st.activity is AgentActivity.LOGGED_OUT:
            # Out of every queue but still logged in (Asterisk restarted): any call olive
            # had them on is over; they are what they were apart from it, until re-added.
            agent.state = "paused" if agent.pause_reason else "ready"
            agent.current_call_id = None
        else:
            agent.state = AGENT_STATE[st.activity]
            agent.pause_reason = st.paused_reason or ("unavailable" if st.activity is AgentActivity.UNAVAILABLE else None)
            agent.current_call_id = st.call_id
        agent.state_since = as_utc(st.since)
        touched[agent.id] = agent
    update_agents(session, list(touched.values()), lock_in_order=lock_in_order)
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
    "write_ahead_all",
]
