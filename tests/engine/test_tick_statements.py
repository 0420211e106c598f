"""A tick's database steps run a number of statements that does not grow with its dials.

On PostgreSQL each statement the server runs is a round trip (an executemany is one
statement per row, sent one by one in a pipeline), and after each one the engine's
database thread waits for the GIL while the event loop is busy: a tick that placed 50
dials or stored 50 changes with a statement per row took 50-100 ms of waiting
(docs/performance.md, "Fewer round trips per tick"). Counted structurally, not timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from olive.ami import ServerConfig
from olive.calls import AgentActivity, AgentChange, AgentStatus, CallChange, CallState
from olive.compliance import ComplianceGuard
from olive.engine import Engine
from olive.engine._engine import Dial
from olive.pacing import DialDecision
from olive.specs import PlanSpec
from olive.store import (
    Agent,
    Call,
    Campaign,
    Contact,
    ContactRow,
    DialList,
    DncCheck,
    Plan,
    import_contacts,
    transaction,
)

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC).timestamp()  # a Monday, noon in Washington DC (the numbers' zone)
AGENTS = 24


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"  # round trips are PostgreSQL's cost; SQLite's executemany stays in the process


@contextmanager
def statements_run(bind: SAEngine) -> Iterator[list[int]]:
    """Statements the server runs: an executemany counts one per row (SQLAlchemy's
    "insertmanyvalues", one statement of many rows, passes its parameters flat: one)."""
    count = [0]

    def keep(_c: object, _cur: object, _statement: str, parameters: Any, _ctx: object, executemany: bool) -> None:
        many = executemany and isinstance(parameters, list | tuple) and isinstance(parameters[0], list | tuple | dict)
        count[0] += len(parameters) if many else 1

    event.listen(bind, "before_cursor_execute", keep)
    try:
        yield count
    finally:
        event.remove(bind, "before_cursor_execute", keep)


def store(sessions: sessionmaker[Session]) -> None:
    spec = PlanSpec(channel_template="PJSIP/{number}@trunk", dial_mode="power", lines_per_agent=2.0)
    with transaction(sessions) as s:
        plan = Plan(name="p", **spec.to_row())
        dial_list = DialList(name="l")
        agents = [Agent(name=f"agent{i}", interface=f"PJSIP/{100 + i}", state="ready") for i in range(AGENTS)]
        s.add_all([plan, dial_list, *agents])
        s.flush()
        import_contacts(s, dial_list.id, [ContactRow(numbers=(f"+1202555{i:04d}",)) for i in range(100)])
        s.add(Campaign(name="c", status="running", plan=plan, queue="q", compliance_profile="us-tsr",
                       dial_lists=[dial_list], agents=agents))


def engine_on(sessions: sessionmaker[Session]) -> Engine:
    engine = Engine(sessions, {"default": ServerConfig(port=1)}, guard=ComplianceGuard())
    refreshed = engine._read_refresh(NOW)
    engine._apply_refresh(refreshed, NOW)
    return engine


def place(engine: Engine, dials: int) -> list[Dial]:
    placed, _ = engine._place_dials([(engine.campaigns[0], DialDecision(dials, "test"))], NOW)
    assert len(placed) == dials
    return placed


def test_placing_dials_runs_as_many_statements_for_many_dials_as_for_few(
    session_factory: sessionmaker[Session], db_clean: SAEngine
) -> None:
    store(session_factory)
    engine = engine_on(session_factory)
    counts = {}
    for dials in (2, 12):
        with statements_run(db_clean) as count:
            place(engine, dials)
        counts[dials] = count[0]
    assert counts[2] == counts[12], counts
    with transaction(session_factory) as s:  # and the dials are what they were: each call linked to its DNC check
        calls = set(s.scalars(select(Call.id)))
        checks = list(s.scalars(select(DncCheck)))
        assert len(calls) == 14 and {c.call_id for c in checks} == calls and {c.result for c in checks} == {"clear"}
        assert s.scalar(select(Contact.id).where(Contact.active_call_id.is_not(None)).limit(20).order_by(Contact.id))


@contextmanager
def texts_run(bind: SAEngine) -> Iterator[set[str]]:
    """The SQL texts sent to the server."""
    texts: set[str] = set()

    def keep(_c: object, _cur: object, statement: str, *_: object) -> None:
        texts.add(statement)

    event.listen(bind, "before_cursor_execute", keep)
    try:
        yield texts
    finally:
        event.remove(bind, "before_cursor_execute", keep)


def test_placing_dials_sends_the_same_sql_for_many_dials_as_for_few(
    session_factory: sessionmaker[Session], db_clean: SAEngine
) -> None:
    """A text that changes with the tick's size is converted again by psycopg each tick
    (over 4 KB it is not cached: 0.65 ms for the DNC records' multi-row INSERT at 40
    dials) and parsed and planned again by the server."""
    store(session_factory)
    engine = engine_on(session_factory)
    texts = {}
    for dials in (2, 12):
        with texts_run(db_clean) as seen:
            place(engine, dials)
        texts[dials] = seen
    assert texts[2] == texts[12], texts[2] ^ texts[12]
    with transaction(session_factory) as s:  # each call linked to its DNC check, as it was made
        checks = list(s.scalars(select(DncCheck)))
        assert {c.call_id for c in checks} == set(s.scalars(select(Call.id)))
        assert all(c.checked_at.timestamp() == NOW and c.number.startswith("+1202555") for c in checks)


def test_refusing_contacts_runs_as_many_statements_for_many_as_for_few(
    session_factory: sessionmaker[Session], db_clean: SAEngine
) -> None:
    """At 03:00 in Washington every candidate is outside calling hours: each is put off
    until the window opens, in one statement for all of them."""
    store(session_factory)
    engine = engine_on(session_factory)
    night = NOW - 9 * 3600
    counts = {}
    for dials in (2, 12):
        with statements_run(db_clean) as count:
            placed, notes = engine._place_dials([(engine.campaigns[0], DialDecision(dials, "test"))], night)
        assert placed == [] and "outside_hours" in notes[engine.campaigns[0].id]
        counts[dials] = count[0]
    assert counts[2] == counts[12], counts
    with transaction(session_factory) as s:  # 9 candidates for 2 dials, 29 for 12: each put off to 08:00
        put_off = s.scalars(select(Contact.next_attempt_at).where(Contact.next_attempt_at.is_not(None))).all()
        assert len(put_off) == 9 + 29 and len(set(put_off)) == 1


def drained(engine: Engine, dials: list[Dial], agents: list[str]) -> tuple[list[CallChange], list[AgentChange]]:
    """Half the calls ringing, the other half refused (ended); an agent change per call."""
    link = engine.links["default"]
    calls: list[CallChange] = []
    for i, (_, intent, _) in enumerate(dials):
        engine.call_campaign[intent.call_id] = intent.campaign_id  # as send_dials does
        record = link.tracker.originate(intent.call_id, action_id=intent.call_id, dial_string=intent.dial_string, now=NOW)
        if i % 2:
            calls.extend(link.tracker.originate_refused(intent.call_id, NOW + 1, "Channel not available"))
        else:
            ringing = replace(record, state=CallState.RINGING, channel=f"PJSIP/trunk-{i:08d}")
            calls.append(CallChange(ringing, CallState.ORIGINATING))
    changes = [
        AgentChange(AgentStatus(interface, interface, AgentActivity.RINGING, NOW + 1, call_id=intent.call_id), AgentActivity.IDLE)
        for interface, (_, intent, _) in zip(agents, dials, strict=False)
    ]
    return calls, changes


def test_storing_changes_runs_as_many_statements_for_many_changes_as_for_few(
    session_factory: sessionmaker[Session], db_clean: SAEngine
) -> None:
    store(session_factory)
    engine = engine_on(session_factory)
    interfaces = sorted(engine._agent_ids)
    counts = {}
    stored: dict[int, list[Dial]] = {}
    for dials in (2, 12):
        placed = place(engine, dials)
        calls, agents = drained(engine, placed, interfaces[: len(placed)])
        with statements_run(db_clean) as count:
            engine._store_drained([(engine.links["default"], calls, agents)], NOW + 1)
        counts[dials] = count[0]
        stored[dials] = placed
    assert counts[2] == counts[12], counts
    with transaction(session_factory) as s:  # and what was stored is what happened
        for i, (_, intent, _) in enumerate(stored[12]):
            call = s.get(Call, intent.call_id)
            contact = s.get(Contact, intent.contact_id)
            assert call is not None and contact is not None
            if i % 2:
                assert (call.state, call.outcome, contact.active_call_id) == ("ended", "FAILED", None)
            else:
                assert (call.state, call.channel, contact.active_call_id) == ("ringing", f"PJSIP/trunk-{i:08d}", call.id)
        ringing = s.scalars(select(Agent.state).where(Agent.interface.in_(interfaces[:12]))).all()
        assert ringing == ["ringing"] * 12
