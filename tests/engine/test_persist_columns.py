"""A call still in progress is written by id without loading it (``_columns`` and
``store.update_calls``): its row is what copying the record onto the loaded call wrote."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy.orm import Session, sessionmaker

from engine.stored import placed_call
from olive.calls import AgentRing, CallChange, CallRecord, CallState
from olive.engine._persist import _no_answer, apply_call_changes
from olive.store import Agent, Call, as_utc, transaction

COLUMNS = [c.name for c in Call.__table__.columns if c.name not in ("created_at", "updated_at")]


def copy_onto(call: Call, rec: CallRecord, agent_ids: Mapping[str, str]) -> None:
    """The loaded path, spelled out: what writing by id must equal, column by column."""
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
    call.agents_no_answer = _no_answer(rec)
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


def agents(sessions: sessionmaker[Session]) -> dict[str, str]:
    """An agent olive knows, by interface, as the engine maps them."""
    with transaction(sessions) as s:
        agent = Agent(name="agent101", interface="Local/101@agents", state="ready")
        s.add(agent)
        s.flush()
        return {agent.interface: agent.id}


def row(sessions: sessionmaker[Session], call_id: str) -> dict[str, Any]:
    with transaction(sessions) as s:
        call = s.get(Call, call_id)
        assert call is not None
        return {name: getattr(call, name) for name in COLUMNS}


RECORDS = [
    CallRecord("call_1", CallState.RINGING, "PJSIP/x@t", None, 100.0, ringing_at=100.2),
    CallRecord(
        "call_1", CallState.CONNECTED, "PJSIP/x@t", "call_1", 100.5, uniqueid="call_1", linkedid="call_1",
        channel="Local/x@t-0001;1", originate_reason=4, dial_status="ANSWER", answered_at=103.0, queued_at=103.1,
        agent_connected_at=104.0, agent_interface="Local/101@agents", ivr_key="1", ivr_status="OK",
        agents_rung=(AgentRing("Local/102@agents", "agent102", 103.2, 1500), AgentRing("Local/101@agents", "a", 103.8)),
    ),
    # An agent olive does not know: its id is cleared, as the copy does.
    CallRecord("call_1", CallState.CONNECTED, "PJSIP/x@t", "", 100.0, channel="", agent_interface="Local/999@agents"),
]


@pytest.mark.parametrize("record", RECORDS, ids=["ringing", "connected", "unknown-agent"])
def test_a_call_in_progress_is_written_as_the_copy_writes_it(
    session_factory: sessionmaker[Session], db_clean: SAEngine, record: CallRecord
) -> None:
    placed_call(session_factory, "call_1")
    known = agents(session_factory)
    with transaction(session_factory) as s:  # a second call like it, that already knows more than the record says
        first = s.get(Call, "call_1")
        assert first is not None
        columns = {name: getattr(first, name) for name in COLUMNS if name not in ("id", "contact_id")}
        s.add(Call(id="call_2", **{**columns, "action_id": "kept", "channel": "kept-channel"}))
    with transaction(session_factory) as s:
        # An earlier change of the same tick counts for nothing: the last is the call.
        earlier = CallChange(CallRecord("call_1", CallState.ORIGINATING, "PJSIP/x@t", None, 1.0), CallState.ORIGINATING)
        assert apply_call_changes(s, [earlier, CallChange(record, CallState.ORIGINATING)], known) == []
        call = s.get(Call, "call_2")
        assert call is not None
        copy_onto(call, record, known)  # the loaded path, on the other call
    written, copied = row(session_factory, "call_1"), row(session_factory, "call_2")
    for name in ("id", "contact_id", "contact_number_id", "number", "campaign_id", "attempt", "server", "action_id",
                 "channel"):
        written.pop(name), copied.pop(name)
    assert written == copied
    assert row(session_factory, "call_1")["state"] == record.state.value


def test_what_the_record_lacks_the_row_keeps(session_factory: sessionmaker[Session], db_clean: SAEngine) -> None:
    placed_call(session_factory, "call_1")
    with transaction(session_factory) as s:
        call = s.get(Call, "call_1")
        assert call is not None
        call.channel, call.uniqueid = "Local/x@t-0001;1", "call_1"
    known = agents(session_factory)
    with transaction(session_factory) as s:
        apply_call_changes(s, [CallChange(RECORDS[2], CallState.RINGING)], known)
    stored = row(session_factory, "call_1")
    assert (stored["channel"], stored["uniqueid"], stored["agent_id"]) == ("Local/x@t-0001;1", "call_1", None)
    assert stored["agent_interface"] == "Local/999@agents"
