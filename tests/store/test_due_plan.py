"""Picking due contacts reads ``ix_contacts_due`` in order: no sort over the pending contacts.

The statements ``contacts_due`` really sends are captured and explained on
each backend (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL)
against a list of a few thousand contacts, after ANALYZE, so the planner
chooses as it would in production. The speed itself is measured by
``benchmarks/due_contacts.py``, not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, update
from sqlalchemy.orm import Session

from olive.store import (
    Call,
    Campaign,
    Contact,
    ContactRow,
    contacts_due,
    due_rows,
    import_contacts,
    next_attempt_due,
)

from .conftest import Factory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM contacts" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def _plan(session: Session, statement: str, parameters: Any, backend: str) -> str:
    connection = session.connection()
    if backend == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(str(row[-1]) for row in rows)
    rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return "\n".join(str(row[0]) for row in rows)


@pytest.fixture
def campaign_id(session: Session, factory: Factory, db_backend: str) -> str:
    lists = [factory.dial_list(), factory.dial_list()]
    camp = factory.campaign(dial_lists=lists)
    for dial_list in lists:
        ids = import_contacts(session, dial_list.id, (ContactRow(numbers=[f"+1555{i:07d}"]) for i in range(3000)))
        # Most tried before (half due now, half later), 150 never tried, 50 done.
        session.execute(
            update(Contact).where(Contact.id.in_(ids[:1400])).values(next_attempt_at=NOW - timedelta(hours=1))
        )
        session.execute(
            update(Contact).where(Contact.id.in_(ids[1400:2800])).values(next_attempt_at=NOW + timedelta(hours=1))
        )
        session.execute(update(Contact).where(Contact.id.in_(ids[2950:])).values(status="done"))
    session.commit()
    session.connection().exec_driver_sql("ANALYZE" if db_backend == "sqlite" else "ANALYZE contacts")
    return camp.id


@pytest.mark.parametrize("limit", [50, 400])  # 400: the 300 never tried run out, due retries follow
def test_due_contacts_are_read_in_index_order(
    session: Session, campaign_id: str, db_backend: str, limit: int
) -> None:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    gen = _captured(engine)
    seen = next(gen)
    due = contacts_due(session, campaign_id, NOW, limit)
    later = next_attempt_due(session, campaign_id)
    gen.close()

    assert len(due) == limit and later == NOW - timedelta(hours=1)
    assert len(seen) >= 2
    for statement, parameters in seen:
        plan = _plan(session, statement, parameters, db_backend)
        assert "ix_contacts_due" in plan, plan
        if db_backend == "sqlite":
            assert "TEMP B-TREE" not in plan, plan
        else:
            assert "Sort" not in plan, plan


def _captured_numbers(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM contact_numbers" in statement or ("FROM calls" in statement and "ended_at IS NULL" in statement):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


@pytest.mark.parametrize("limit", [50, 400])
def test_plain_rows_are_read_in_index_order_with_their_numbers_by_index(
    session: Session, campaign_id: str, db_backend: str, limit: int, factory: Factory
) -> None:
    """``due_rows`` (the dialing tick's pick) reads the contacts in the order of
    ``ix_contacts_due``, then their numbers in one statement, looked up by contact, not
    scanned, then which of those numbers a call is open to, from the open calls only
    (``ix_calls_open_number``). (At 400 of 6,000 numbers PostgreSQL rightly scans them:
    only the tick's 50 are checked.)"""
    # 4,000 ended calls to the list's numbers, 20 open ones: as a running campaign's table looks.
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    session.execute(
        insert(Call),
        [
            {"campaign_id": campaign_id, "number": f"+1555{i % 3000:07d}", "state": "ended", "outcome": "BUSY",
             "ended_at": NOW - timedelta(minutes=i)}
            for i in range(4000)
        ]
        + [{"campaign_id": campaign_id, "number": f"+1555{i:07d}", "state": "ringing"} for i in range(20)],
    )
    session.commit()
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if db_backend == "sqlite":
        session.connection().exec_driver_sql("ANALYZE")
    else:
        # Other lists' numbers, as a real table holds: at this test's 6,000 the planner rightly
        # found a scan of all of them as cheap as 50 lookups (194 against 221 on PostgreSQL 15).
        other = factory.dial_list()
        session.flush()
        session.connection().exec_driver_sql(
            "INSERT INTO contacts (id, dial_list_id, variables, status, attempts, next_number_index, created_at, updated_at) "
            "SELECT 'other_' || i, %(list)s, '{}', 'pending', 0, 0, now(), now() FROM generate_series(1, 54000) AS i",
            {"list": other.id},
        )
        session.connection().exec_driver_sql(
            "INSERT INTO contact_numbers (id, contact_id, position, number, attempts, created_at, updated_at) "
            "SELECT 'othern_' || i, 'other_' || i, 0, '+1666' || lpad(i::text, 7, '0'), 0, now(), now() "
            "FROM generate_series(1, 54000) AS i"
        )
        session.commit()
        # As autovacuum keeps them (a server may run with it off: this test's machine did).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.exec_driver_sql("VACUUM ANALYZE contact_numbers")
            autocommit.exec_driver_sql("VACUUM ANALYZE calls")
    gen, numbers_gen = _captured(engine), _captured_numbers(engine)
    seen, numbers_seen = next(gen), next(numbers_gen)
    rows = due_rows(session, campaign_id, NOW, limit)
    gen.close()
    numbers_gen.close()

    assert [r.id for r in rows] == [c.id for c in contacts_due(session, campaign_id, NOW, limit)]
    assert all(len(r.numbers) == 1 for r in rows)
    assert len(seen) >= 2 and len(numbers_seen) == 2
    for statement, parameters in seen:
        plan = _plan(session, statement, parameters, db_backend)
        assert "ix_contacts_due" in plan, plan
        assert ("TEMP B-TREE" if db_backend == "sqlite" else "Sort") not in plan, plan
    (numbers_statement, numbers_parameters), (open_statement, open_parameters) = numbers_seen
    plan = _plan(session, open_statement, open_parameters, db_backend)
    # Only open calls are read, never the calls' whole history.
    assert ("ix_calls_open_number" if db_backend == "sqlite" else "ix_calls_open_") in plan, plan
    assert "Seq Scan on calls" not in plan and "SCAN calls" not in plan, plan
    if limit == 50:
        plan = _plan(session, numbers_statement, numbers_parameters, db_backend)
        assert ("SCAN contact_numbers" if db_backend == "sqlite" else "Seq Scan on contact_numbers") not in plan, plan
        assert "contact_id" in plan, plan  # searched by contact (uq_contact_numbers_contact_id_position)


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)  # the planner's choice is PostgreSQL's
@pytest.mark.parametrize("analysed", ["at night", "while empty"])
def test_the_open_call_probe_looks_numbers_up_even_on_stale_statistics(
    session: Session, campaign_id: str, db_backend: str, analysed: str
) -> None:
    """A busy calls table is analysed rarely (autovacuum waits for a tenth of its rows to
    change): statistics taken at night, with few calls open, still hold at noon with
    thousands. Then ``ix_calls_open_server`` (every open call) looked as cheap as the
    numbers' own index, and PostgreSQL walked every open call and compared each with
    each number asked (6 ms against 0.24 ms at 2,500 open calls, 100 numbers): the
    probe must look its numbers up in ``ix_calls_open_number`` whatever the statistics.

    A new database's first minutes are the same (``while empty``: analysed before its first
    call, as at installation; autovacuum analyses a minute or more later): every open call
    was walked through ``ux_calls_open_contact`` (7 ms a tick at 2,100 calls open, 1,000
    agents, against 0.3 ms probing the numbers)."""
    if analysed == "while empty":
        session.connection().exec_driver_sql("ANALYZE calls")
    numbers = [f"+1555{i:07d}" for i in range(3000)]
    session.execute(
        insert(Call),
        [{"campaign_id": campaign_id, "number": numbers[i % 3000], "state": "ended", "outcome": "BUSY",
          "ended_at": NOW - timedelta(minutes=i)} for i in range(4000)]
        + [{"campaign_id": campaign_id, "number": f"+1666{i:07d}", "state": "ringing"} for i in range(20)],
    )
    session.commit()
    if analysed == "at night":
        session.connection().exec_driver_sql("ANALYZE calls")  # 20 calls open
    session.execute(  # the day's calls, after the statistics were taken
        insert(Call), [{"campaign_id": campaign_id, "number": f"+1777{i:07d}", "state": "ringing"} for i in range(2500)]
    )
    session.commit()
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    numbers_gen = _captured_numbers(engine)
    numbers_seen = next(numbers_gen)
    due_rows(session, campaign_id, NOW, 50)
    numbers_gen.close()
    open_statement, open_parameters = numbers_seen[-1]
    assert "ended_at IS NULL" in open_statement
    plan = _plan(session, open_statement, open_parameters, db_backend)
    assert "ix_calls_open_number" in plan and "ix_calls_open_server" not in plan, plan
    assert "ux_calls_open_contact" not in plan, plan  # nor every open call through the contacts' index
