"""The engine's writes, a tick's worth at a time.

A tick at 1,000 agents places a few hundred calls and ends as many: written
one row at a time (an UPDATE to claim, an INSERT and a flush per dial; a
SELECT, an UPDATE and two queries per ended call), the engine's database
thread spent seconds per tick. These do the same work in a few statements
for the whole tick, in the caller's transaction:

* :func:`claim_and_insert_calls`: one conditional UPDATE claims every
  contact (``active_call_id`` set only where it is NULL: the rule of
  :func:`~olive.store.claim_contact`, so a contact someone else holds is
  simply not won), one UPDATE counts the numbers' attempts, one multi-row
  INSERT writes the winners' call rows; on PostgreSQL the three are one
  statement. The caller commits before any Originate (write-ahead).
* :func:`calls_by_id`, :func:`agent_states`: what a tick's changes
  touch, read in one query each instead of one per change.
* :func:`update_calls`: a tick's calls, written by id without loading them.
* :func:`finish_facts` and :func:`release_contacts`: what the retry rule
  needs to know about the ended calls' contacts (three queries for all of
  them), and their release (a row only if the ending call still holds it, as
  :func:`~olive.store.release_contact`).
* :func:`update_agents`: the agents' tracked activity, written by id.

On PostgreSQL every statement is a round trip, and an executemany is one
statement per row (psycopg sends them one by one in a pipeline), after each
of which the engine's database thread waits for the GIL while the event
loop is busy. So the writes by id run as one ``UPDATE ... FROM unnest(...)``
for all the rows (:func:`update_by_id`), and the INSERTs as one multi-row
statement; SQLite, in the process, keeps its executemany.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    case,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from olive.store._calls import Call
from olive.store._campaigns import Agent, Contact, ContactNumber
from olive.store._db import among

# Bound parameters per statement stay well under SQLite's and PostgreSQL's limits.
CHUNK = 500

_CLAIM_FIELDS = ("active_call_id", "status", "next_attempt_at", "last_outcome", "updated_at", "attempts", "next_number_index")


@dataclass(frozen=True, slots=True)
class NewCall:
    """One attempt's call row, to be written once its contact is claimed."""

    call_id: str
    campaign_id: str
    contact_id: str
    contact_number_id: str
    number: str
    attempt: int
    server: str
    plan_snapshot: Mapping[str, Any]


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def claim_and_insert_calls(session: Session, calls: Sequence[NewCall], now: datetime) -> set[str]:
    """Claim each call's contact, count the attempt, insert the call rows; return the call ids written.

    A contact already held by another call (or claimed twice in ``calls``) is
    not won: its call is neither written nor to be dialed.
    """
    wanted: dict[str, NewCall] = {}
    for call in calls:
        wanted.setdefault(call.contact_id, call)
    if wanted and session.get_bind().dialect.name == "postgresql":
        written = _claim_and_insert_postgresql(session, list(wanted.values()), now)
        _expire(session, Contact, wanted, _CLAIM_FIELDS)
        won_numbers = (c.contact_number_id for c in wanted.values() if c.call_id in written)
        _expire(session, ContactNumber, won_numbers, ("attempts", "last_attempt_at", "updated_at"))
        return written
    won: list[NewCall] = []
    for chunk in _chunks(list(wanted.values())):
        claimed = set(
            session.execute(
                update(Contact)
                .where(Contact.id.in_([c.contact_id for c in chunk]), Contact.active_call_id.is_(None))
                .values(
                    active_call_id=case({c.contact_id: c.call_id for c in chunk}, value=Contact.id),
                    status="dialing",
                    attempts=Contact.attempts + 1,
                    updated_at=now,
                )
                .returning(Contact.id)
                .execution_options(synchronize_session=False)
            ).scalars()
        )
        won.extend(c for c in chunk if c.contact_id in claimed)
    _expire(session, Contact, (c.contact_id for c in wanted.values()), _CLAIM_FIELDS)
    if not won:
        return set()
    for chunk in _chunks(won):
        session.execute(
            update(ContactNumber)
            .where(ContactNumber.id.in_([c.contact_number_id for c in chunk]))
            .values(attempts=ContactNumber.attempts + 1, last_attempt_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    _expire(session, ContactNumber, (c.contact_number_id for c in won), ("attempts", "last_attempt_at", "updated_at"))
    # RETURNING makes SQLAlchemy write the rows in one multi-row INSERT ("insertmanyvalues");
    # without it psycopg would send one INSERT per row.
    session.execute(
        insert(Call).returning(Call.id),
        [
            {
                "id": c.call_id,
                "campaign_id": c.campaign_id,
                "contact_id": c.contact_id,
                "contact_number_id": c.contact_number_id,
                "number": c.number,
                "attempt": c.attempt,
                "server": c.server,
                "state": "originating",
                "originated_at": now,
                "uniqueid": c.call_id,
                "linkedid": c.call_id,
                "agents_no_answer": [],
                "plan_snapshot": dict(c.plan_snapshot),
                "created_at": now,
                "updated_at": now,
            }
            for c in won
        ],
    )
    return {c.call_id for c in won}


# The three statements of claim_and_insert_calls in one round trip, the tick's dials read from
# one array per field (the same SQL whatever their number: psycopg parses it once, and the
# server prepares it): claim where no call holds the contact, count the number's attempt and
# write the call row of each contact won.
_CLAIM_AND_INSERT = text("""
WITH v AS (
    SELECT * FROM unnest(
        CAST(:call_ids AS VARCHAR[]), CAST(:contact_ids AS VARCHAR[]), CAST(:number_ids AS VARCHAR[]),
        CAST(:numbers AS VARCHAR[]), CAST(:attempts AS INTEGER[]), CAST(:servers AS VARCHAR[]),
        CAST(:campaign_ids AS VARCHAR[]), CAST(:plan_nos AS INTEGER[])
    ) AS v(call_id, contact_id, number_id, number, attempt, server, campaign_id, plan_no)
), claimed AS (
    UPDATE contacts SET active_call_id = v.call_id, status = 'dialing', attempts = contacts.attempts + 1,
        updated_at = :now
    FROM v
    -- = ANY: the primary key's index, whatever the planner guesses of v's rows
    WHERE contacts.id = ANY(CAST(:contact_ids AS VARCHAR[])) AND contacts.id = v.contact_id
        AND contacts.active_call_id IS NULL
    RETURNING contacts.id
), won AS (
    SELECT v.* FROM v JOIN claimed ON claimed.id = v.contact_id
), counted AS (
    UPDATE contact_numbers SET attempts = contact_numbers.attempts + 1, last_attempt_at = :now, updated_at = :now
    FROM won WHERE contact_numbers.id = ANY(CAST(:number_ids AS VARCHAR[])) AND contact_numbers.id = won.number_id
)
INSERT INTO calls (id, campaign_id, contact_id, contact_number_id, number, attempt, server, state,
    originated_at, uniqueid, linkedid, agents_no_answer, plan_snapshot, created_at, updated_at)
SELECT call_id, campaign_id, contact_id, number_id, number, attempt, server, 'originating',
    :now, call_id, call_id, '[]'::jsonb, (CAST(:plans AS JSONB[]))[plan_no], :now, :now
FROM won
RETURNING calls.id
""")


def _claim_and_insert_postgresql(session: Session, calls: Sequence[NewCall], now: datetime) -> set[str]:
    # A campaign's calls share one plan snapshot: sent once, each call with its place (1-based)
    # in the array (a JSON text in an array is escaped quote by quote on the way).
    plan_nos: dict[int, int] = {}
    plans: list[str] = []
    for c in calls:
        if id(c.plan_snapshot) not in plan_nos:
            plans.append(json.dumps(dict(c.plan_snapshot)))
            plan_nos[id(c.plan_snapshot)] = len(plans)
    return set(
        session.execute(
            _CLAIM_AND_INSERT,
            {
                "call_ids": [c.call_id for c in calls],
                "contact_ids": [c.contact_id for c in calls],
                "number_ids": [c.contact_number_id for c in calls],
                "numbers": [c.number for c in calls],
                "attempts": [c.attempt for c in calls],
                "servers": [c.server for c in calls],
                "campaign_ids": [c.campaign_id for c in calls],
                "plan_nos": [plan_nos[id(c.plan_snapshot)] for c in calls],
                "plans": plans,
                "now": now,
            },
        ).scalars()
    )


def _expire(session: Session, model: type[Any], ids: Iterable[str], fields: Sequence[str]) -> None:
    """Loaded copies re-read what the database just decided, not what memory holds."""
    for id_ in ids:
        loaded = session.identity_map.get(session.identity_key(model, id_))
        if loaded is not None:
            session.expire(loaded, list(fields))


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


Fields = Mapping[str, ColumnElement[Any]]  # a row's fields by name, as the statement reads them


def update_by_id(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    values: Callable[[Fields], Mapping[str, Any]],
    *,
    also: Callable[[Fields], Sequence[ColumnElement[bool]]] = lambda v: (),
    types: Mapping[str, TypeEngine[Any]] | None = None,
    reuse: Hashable | None = None,
) -> None:
    """Update the rows of ``table`` whose id is each row's ``"id"`` (and that meet ``also``),
    setting ``values``; both are built from a row's fields (each row has the same fields, by
    name; a field's type is its column's unless ``types`` says). On PostgreSQL one statement
    for all rows, which reads them from ``unnest()`` of one array per field; elsewhere an
    executemany, as before. ``reuse``: a key that fixes ``values``, ``also`` and ``types`` (no literal that
    changes between calls in them), so the PostgreSQL statement is built once for the key and
    the fields' names and is sent again with new arrays (building and keying it was a third of
    the database thread's CPU time at 1,000 agents).

    An id that comes again is written by a second statement, after the first (one UPDATE
    ... FROM writes a row once), so the rows apply in order as an executemany's would."""
    if not rows:
        return
    names = list(rows[0])
    typed = {name: (types or {}).get(name) or table.c[name].type for name in names}

    def statement(v: Fields, *by_index: ColumnElement[bool]) -> Any:
        return update(table).where(*by_index, table.c.id == v["id"], *also(v)).values(values(v))

    if session.get_bind().dialect.name != "postgresql":
        written = statement({name: bindparam(f"b_{name}", type_=typed[name]) for name in names})
        for chunk in _chunks(rows):
            session.execute(written, [{f"b_{name}": row[name] for name in names} for row in chunk])
        return
    key = None if reuse is None else (table.name, tuple(names), reuse)
    written = _REUSED.get(key) if key is not None else None
    if written is None:
        arrays = [bindparam(f"a_{name}", type_=ARRAY(typed[name], dimensions=1)) for name in names]
        source = func.unnest(*arrays).table_valued(*names).render_derived(name="v")
        # = ANY: the primary key's index, whatever the planner guesses of unnest()'s rows
        ids = bindparam("ids", type_=ARRAY(typed["id"], dimensions=1))
        written = statement({name: source.c[name] for name in names}, table.c.id == any_(ids))
        if key is not None:
            _REUSED[key] = written
    for layer in _distinct_ids(rows):
        params = {f"a_{name}": [row[name] for row in layer] for name in names}
        params["ids"] = params["a_id"]
        session.execute(written, params)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` (each row has the same fields, by name). On PostgreSQL
    one ``INSERT ... SELECT FROM unnest(...)`` whose text depends only on the fields (psycopg
    converts it once and the server prepares it: a multi-row VALUES is a new text for each
    number of rows, over 4 KB converted again every time); elsewhere an executemany."""
    if not rows:
        return
    names = list(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), [dict(row) for row in rows])
        return
    key = (table.name, tuple(names), "insert")
    written = _REUSED.get(key)
    if written is None:
        arrays = [bindparam(f"a_{name}", type_=ARRAY(table.c[name].type, dimensions=1)) for name in names]
        source = func.unnest(*arrays).table_valued(*names).render_derived(name="v")
        written = _REUSED[key] = insert(table).from_select(names, select(*(source.c[name] for name in names)))
    for chunk in _chunks(rows):
        session.execute(written, {f"a_{name}": [row[name] for row in chunk] for name in names})


# update_by_id's PostgreSQL statements by (table, fields, reuse key): a few dozen at most
# (one per set of columns a call change writes).
_REUSED: dict[tuple[str, tuple[str, ...], Hashable], Any] = {}


def _distinct_ids(rows: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The rows in runs of distinct ids: an id's second row in the second run, and so on."""
    layers: list[list[Mapping[str, Any]]] = []
    seen: Counter[Any] = Counter()
    for row in rows:
        depth = seen[row["id"]]
        seen[row["id"]] += 1
        if depth == len(layers):
            layers.append([])
        layers[depth].append(row)
    return layers


def calls_by_id(session: Session, ids: Iterable[str]) -> dict[str, Call]:
    """The calls with these ids (those that exist), loaded in one query per few hundred."""
    wanted = sorted(set(ids))
    found: dict[str, Call] = {}
    for chunk in _chunks(wanted):
        found.update((c.id, c) for c in session.scalars(select(Call).where(among(session, Call.id, chunk))))
    return found


def update_calls(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write these calls' columns by id (``{"id": ..., column: value, ...}``), without loading
    them: one statement per set of columns. A row whose call does not exist is skipped.
    Calls loaded in the session re-read the columns written."""
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(k for k in row if k != "id")), []).append(row)
    calls = _table(Call)
    for columns, group in groups.items():
        update_by_id(session, calls, group, _copied(columns), reuse=("copied", columns))
        _expire(session, Call, (row["id"] for row in group), columns)


def _copied(columns: Sequence[str]) -> Callable[[Fields], Mapping[str, Any]]:
    """Each of ``columns`` set to the row's field of that name."""
    return lambda v: {name: v[name] for name in columns}


@dataclass(slots=True)
class AgentState:
    """What the engine writes of an agent from its tracked activity."""

    id: str
    name: str
    interface: str
    state: str
    pause_reason: str | None
    state_since: datetime | None = None
    current_call_id: str | None = None


def agent_states(session: Session, interfaces: Iterable[str]) -> dict[str, AgentState]:
    """The agents with these interfaces (those that exist), by interface, as plain rows."""
    wanted = sorted(set(interfaces))
    found: dict[str, AgentState] = {}
    for chunk in _chunks(wanted):
        for id_, name, interface, state, pause_reason, since, call_id in session.execute(
            select(Agent.id, Agent.name, Agent.interface, Agent.state, Agent.pause_reason, Agent.state_since,
                   Agent.current_call_id).where(among(session, Agent.interface, chunk))
        ):
            found[interface] = AgentState(id_, name, interface, state, pause_reason, since, call_id)
    return found


def update_agents(session: Session, agents: Sequence[AgentState], *, lock_in_order: bool = True) -> None:
    """Write these agents' state, pause reason, state since and current call, by id.

    Every unit engine on a server has its own AMI link, sees every agent's events there and
    writes them: two such transactions write the same agents. On PostgreSQL the rows are locked
    in id order first (``ORDER BY id FOR NO KEY UPDATE``: the lock follows the sort), since the
    UPDATE's own order is its plan's (the array's in a nested loop, the table's in a hash join),
    and two writers in different orders deadlocked: PostgreSQL killed one, a failed tick
    (tests/store/test_agent_writes_order.py). ``lock_in_order=False`` saves that statement for a
    classic engine, the only writer of many agents at once (one per database)."""
    table = _table(Agent)
    columns = ("state", "pause_reason", "state_since", "current_call_id")
    if lock_in_order and agents and session.get_bind().dialect.name == "postgresql":
        ids = sorted({a.id for a in agents})
        session.execute(select(Agent.id).where(Agent.id == any_(bindparam("ids", ids, type_=ARRAY(String))))
                        .order_by(Agent.id).with_for_update(key_share=True)).all()
    update_by_id(
        session, table, [{"id": a.id, **{name: getattr(a, name) for name in columns}} for a in agents],
        _copied(columns), reuse=("copied", columns),
    )
    _expire(session, Agent, (a.id for a in agents), columns)


@dataclass(slots=True)
class ContactFacts:
    """What the retry rule reads of a contact whose call ended."""

    contact_id: str
    next_number_index: int
    numbers: list[tuple[str, int]] = field(default_factory=list)  # (number id, position), by position
    # number id -> outcome -> calls that counted as attempts
    counts: dict[str, Counter[str]] = field(default_factory=dict)


def finish_facts(session: Session, contact_ids: Iterable[str], counted: ColumnElement[bool]) -> dict[str, ContactFacts]:
    """Each existing contact's next number, its numbers and its ended calls' outcomes per number
    (``counted``: which calls count as attempts), for every contact in three queries."""
    wanted = sorted(set(contact_ids))
    facts: dict[str, ContactFacts] = {}
    for chunk in _chunks(wanted):
        for contact_id, index in session.execute(
            select(Contact.id, Contact.next_number_index).where(among(session, Contact.id, chunk))
        ):
            facts[contact_id] = ContactFacts(contact_id, int(index))
        for contact_id, number_id, position in session.execute(
            select(ContactNumber.contact_id, ContactNumber.id, ContactNumber.position)
            .where(among(session, ContactNumber.contact_id, chunk))
            .order_by(ContactNumber.contact_id, ContactNumber.position)
        ):
            if contact_id in facts:
                facts[contact_id].numbers.append((number_id, int(position)))
                facts[contact_id].counts[number_id] = Counter()
        for counted_contact, counted_number, outcome, total in session.execute(
            select(Call.contact_id, Call.contact_number_id, Call.outcome, func.count())
            .where(among(session, Call.contact_id, chunk), Call.outcome.is_not(None), counted)
            .group_by(Call.contact_id, Call.contact_number_id, Call.outcome)
        ):
            fact = facts.get(counted_contact or "")
            if fact is not None and counted_number in fact.counts and outcome:
                fact.counts[counted_number][outcome] += int(total)
    return facts


@dataclass(frozen=True, slots=True)
class Release:
    """An ended call's contact, released with its next step."""

    contact_id: str
    call_id: str
    status: str
    next_attempt_at: datetime | None
    next_number_index: int | None = None  # None: unchanged
    last_outcome: str | None = None  # None: unchanged
    number_id: str | None = None  # the number dialed, whose last outcome (and attempts) change too
    give_back_attempt: bool = False  # no call was placed: the attempt counted is returned


def release_contacts(session: Session, releases: Sequence[Release], now: datetime) -> None:
    """Release every contact whose claim is still its ending call's; one statement each for
    contacts and numbers. A contact another call holds is left alone (its end decides)."""
    if not releases:
        return
    contacts = _table(Contact)
    update_by_id(
        session, contacts,
        [
            {
                "id": r.contact_id,
                "call": r.call_id,
                "status": r.status,
                "next_attempt_at": r.next_attempt_at,
                "next_number_index": r.next_number_index,
                "last_outcome": r.last_outcome,
                "give": 1 if r.give_back_attempt else 0,
            }
            for r in releases
        ],
        lambda v: {
            "active_call_id": None,
            "status": v["status"],
            "next_attempt_at": v["next_attempt_at"],
            "next_number_index": func.coalesce(v["next_number_index"], contacts.c.next_number_index),
            "last_outcome": func.coalesce(v["last_outcome"], contacts.c.last_outcome),
            "attempts": case((contacts.c.attempts >= v["give"], contacts.c.attempts - v["give"]), else_=0),
            "updated_at": now,
        },
        also=lambda v: [contacts.c.active_call_id == v["call"]],
        types={"call": contacts.c.active_call_id.type, "give": contacts.c.attempts.type},
    )
    numbers = _table(ContactNumber)
    touched = [r for r in releases if r.number_id is not None and (r.last_outcome is not None or r.give_back_attempt)]
    update_by_id(
        session, numbers,
        [{"id": r.number_id, "last_outcome": r.last_outcome, "give": 1 if r.give_back_attempt else 0} for r in touched],
        lambda v: {
            "last_outcome": func.coalesce(v["last_outcome"], numbers.c.last_outcome),
            "attempts": case((numbers.c.attempts >= v["give"], numbers.c.attempts - v["give"]), else_=0),
            "updated_at": now,
        },
        types={"give": numbers.c.attempts.type},
    )
    _expire(session, Contact, (r.contact_id for r in releases), _CLAIM_FIELDS)
    _expire(session, ContactNumber, (r.number_id for r in touched if r.number_id), ("last_outcome", "attempts", "updated_at"))


__all__ = [
    "AgentState",
    "ContactFacts",
    "NewCall",
    "Release",
    "agent_states",
    "calls_by_id",
    "claim_and_insert_calls",
    "finish_facts",
    "release_contacts",
    "update_agents",
    "update_calls",
]
