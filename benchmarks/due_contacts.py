"""How long picking the next contacts takes, before and after ``ix_contacts_due`` matched the order.

    python benchmarks/due_contacts.py                                  # SQLite, 10k/100k/1M
    python benchmarks/due_contacts.py --backend postgresql --sizes 10000,1000000
    OLIVE_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test ...

For each size a fresh database (SQLite under /tmp, or a throw-away PostgreSQL
database) gets one campaign with one dial list of N pending contacts: half
never tried, a quarter due for a retry, a quarter due later. Then:

* ``before``: schema at revision 0002 and the due-contact query as it was
  (a join with the campaign's lists, ``ORDER BY next_attempt_at NULLS FIRST, id``);
* ``after``: schema at head and :func:`olive.store.contacts_due`.

Each picks 50 contacts (numbers loaded), ``--repeat`` times; the table shows
the median (and the fastest run, in brackets) and the plan's tell-tale (a temporary b-tree / Sort, or the index).
"rows only" is the same pick without loading the numbers (``with_numbers=False``):
the part that depends on the number of contacts, without the ORM's fixed cost.
The campaign report's contacts-by-status counts (``olive run`` polls them)
are timed before (one join, grouped) and after (per list, on the covering index). Nothing is written under the repository.

A second table compares, in the same run, the ORM pick as the engine made it
with the plain rows it picks now (:func:`olive.store.due_rows`), and the dial
guard over the 50: one contact at a time on ORM objects (before), or
prepared for the tick on the plain rows (now); the guard's writes (DNC check
rows) are rolled back after each run. The load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, func, insert, make_url, or_, select, text
from sqlalchemy.orm import Session, selectinload

from olive.ids import new_id
from olive.compliance import ComplianceGuard
from olive.store import (
    CAMPAIGN_LINKS,
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    Plan,
    as_utc,
    campaign_dial_lists,
    contact_status_counts,
    contacts_due,
    due_rows,
    make_engine,
    make_sessionmaker,
    migrate,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PICK = 50
PG_URL = os.environ.get("OLIVE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="olive-due-") as directory:
            yield f"sqlite:///{Path(directory) / 'due.db'}"
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"olive_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def populate(session: Session, size: int) -> str:
    plan = Plan(name="bench", channel_template="PJSIP/{number}@trunk")
    dial_list = DialList(name="bench")
    session.add_all([plan, dial_list])
    session.flush()
    # Its numbers (+1555...) tell no time zone: London's hours (13:00 at NOW) let the guard weigh them all.
    campaign = Campaign(
        name="bench", plan_id=plan.id, queue="bench", dial_lists=[dial_list], schedule={"fallback_timezone": "Europe/London"}
    )
    session.add(campaign)
    session.flush()
    stamp = NOW - timedelta(days=1)
    if session.connection().dialect.name == "postgresql":
        _populate_server_side(session, dial_list.id, size, stamp)
        session.commit()
        return campaign.id
    if size >= 100_000:
        _populate_sqlite(session, dial_list.id, size, stamp)
        session.commit()
        return campaign.id
    chunk = 5000
    for start in range(0, size, chunk):
        contacts, numbers = [], []
        for i in range(start, min(size, start + chunk)):
            contact_id = new_id("cont")
            kind = i % 4
            at = None if kind < 2 else NOW - timedelta(minutes=i % 600) if kind == 2 else NOW + timedelta(minutes=1 + i % 600)
            contacts.append(
                {
                    "id": contact_id, "dial_list_id": dial_list.id, "status": "pending", "next_attempt_at": at,
                    "attempts": 0 if at is None else 1, "next_number_index": 0, "variables": {},
                    "created_at": stamp, "updated_at": stamp,
                }
            )
            numbers.append(
                {
                    "id": new_id("num"), "contact_id": contact_id, "position": 0, "number": f"+1555{i:07d}",
                    "attempts": 0, "created_at": stamp, "updated_at": stamp,
                }
            )
        session.execute(insert(Contact), contacts)
        session.execute(insert(ContactNumber), numbers)
    session.commit()
    return campaign.id


def _populate_server_side(session: Session, list_id: str, size: int, stamp: datetime) -> None:
    """The same rows as :func:`populate`, made by PostgreSQL itself (generate_series): far faster."""
    params = {"list_id": list_id, "size": size, "now": NOW, "stamp": stamp}
    session.execute(
        text(
            """
            INSERT INTO contacts (id, dial_list_id, status, next_attempt_at, attempts, next_number_index,
                                  variables, created_at, updated_at)
            SELECT 'cont_' || lpad(i::text, 26, '0'), :list_id, 'pending',
                   CASE WHEN i % 4 < 2 THEN NULL
                        WHEN i % 4 = 2 THEN :now - make_interval(mins => i % 600)
                        ELSE :now + make_interval(mins => 1 + i % 600) END,
                   CASE WHEN i % 4 < 2 THEN 0 ELSE 1 END, 0, '{}'::jsonb, :stamp, :stamp
            FROM generate_series(0, :size - 1) AS i
            """
        ),
        params,
    )
    session.execute(
        text(
            """
            INSERT INTO contact_numbers (id, contact_id, position, number, attempts, created_at, updated_at)
            SELECT 'num_' || lpad(i::text, 26, '0'), 'cont_' || lpad(i::text, 26, '0'), 0,
                   '+1555' || lpad(i::text, 7, '0'), 0, :stamp, :stamp
            FROM generate_series(0, :size - 1) AS i
            """
        ),
        params,
    )


def _populate_sqlite(session: Session, list_id: str, size: int, stamp: datetime) -> None:
    """The same rows, made by SQLite itself (a recursive CTE): minutes faster at 1M."""
    params = {"list_id": list_id, "size": size, "now": as_utc(NOW).isoformat(sep=" "), "stamp": as_utc(stamp).isoformat(sep=" ")}
    series = "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < :size - 1) "
    session.execute(
        text(
            series
            + """
            INSERT INTO contacts (id, dial_list_id, status, next_attempt_at, attempts, next_number_index,
                                  variables, created_at, updated_at)
            SELECT 'cont_' || printf('%026d', i), :list_id, 'pending',
                   CASE WHEN i % 4 < 2 THEN NULL
                        WHEN i % 4 = 2 THEN strftime('%Y-%m-%d %H:%M:%S.000000', :now, '-' || (i % 600) || ' minutes')
                        ELSE strftime('%Y-%m-%d %H:%M:%S.000000', :now, '+' || (1 + i % 600) || ' minutes') END,
                   CASE WHEN i % 4 < 2 THEN 0 ELSE 1 END, 0, '{}', :stamp, :stamp
            FROM s
            """
        ),
        params,
    )
    session.execute(
        text(
            series
            + """
            INSERT INTO contact_numbers (id, contact_id, position, number, attempts, created_at, updated_at)
            SELECT 'num_' || printf('%026d', i), 'cont_' || printf('%026d', i), 0,
                   '+1555' || printf('%07d', i), 0, :stamp, :stamp
            FROM s
            """
        ),
        params,
    )


def before_query(session: Session, campaign_id: str) -> list[Contact]:
    """The due-contact query as it was up to revision 0002."""
    statement = (
        select(Contact)
        .join(campaign_dial_lists, campaign_dial_lists.c.dial_list_id == Contact.dial_list_id)
        .where(
            campaign_dial_lists.c.campaign_id == campaign_id,
            Contact.status == "pending",
            Contact.active_call_id.is_(None),
            or_(Contact.next_attempt_at.is_(None), Contact.next_attempt_at <= as_utc(NOW)),
        )
        .order_by(Contact.next_attempt_at.asc().nulls_first(), Contact.id)
        .limit(PICK)
        .options(selectinload(Contact.numbers))
    )
    return list(session.scalars(statement).all())


def contact_counts(session: Session, campaign_id: str) -> dict[str, int]:
    """The campaign report's contacts-by-status figure as it was (one join, grouped)."""
    return {
        status: int(n)
        for status, n in session.execute(
            select(Contact.status, func.count())
            .join(campaign_dial_lists, campaign_dial_lists.c.dial_list_id == Contact.dial_list_id)
            .where(campaign_dial_lists.c.campaign_id == campaign_id)
            .group_by(Contact.status)
        )
    }


class Timing(float):
    """Median milliseconds, with the fastest run (on a busy machine, the cost without waiting for a CPU).

    ``cpu`` is the median CPU time of this process (the ORM's and, on SQLite,
    the database's own work), which waiting for a core does not inflate.
    """

    fastest: float
    cpu: float = float("nan")

    def __format__(self, spec: str) -> str:
        return f"{float(self):{spec}} ({self.fastest:{spec}})"


def timed(session: Session, fn: Callable[[], object], repeat: int, *, in_transaction: bool = False, keep: bool = False) -> Timing:
    """``keep``: keep the session's identity map between runs (a guard's campaign stays loaded).
    ``in_transaction``: timed inside a transaction already begun (as the engine's tick
    picks, after its first statement), so the connection's checkout and pre-ping are not counted."""
    out, cpu = [], []
    for i in range(repeat + 1):  # the first warms the caches as a running engine would have
        if not keep:
            session.expunge_all()
        if in_transaction:
            session.execute(text("SELECT 1"))
        savepoint = session.begin_nested() if keep else None
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        if i:
            out.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        if savepoint is not None:
            savepoint.rollback()  # only what the run wrote; the campaign stays loaded
            for obj in [o for o in session if not isinstance(o, (Campaign, Plan, DialList))]:
                session.expunge(obj)
        else:
            session.rollback()
    result = Timing(statistics.median(out) * 1000)
    result.fastest = min(out) * 1000
    result.cpu = statistics.median(cpu) * 1000
    return result


def plan_note(session: Session, backend: str, statement: str) -> str:
    rows = session.connection().exec_driver_sql(
        ("EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN ") + statement
    ).all()
    plan = " ".join(str(r[-1] if backend == "sqlite" else r[0]) for r in rows)
    if "TEMP B-TREE" in plan or " Sort " in f" {plan} ":
        return "sorts"
    return "index order" if "ix_contacts_due" in plan else "?"


def last_statement(session: Session, backend: str, fn: Callable[[], object]) -> str:
    """The first contacts query ``fn`` sends, with its parameters written in."""
    seen: list[str] = []
    engine = session.get_bind()

    def keep(_c: object, _cur: object, statement: str, params: object, _ctx: object, _many: bool) -> None:
        numbers_joined = "contact_numbers" in statement and "LEFT OUTER JOIN" in statement  # due_rows
        if "FROM contacts" in statement and "ORDER BY" in statement and ("contact_numbers" not in statement or numbers_joined):
            seen.append(_inline(statement, params, backend))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    session.rollback()
    return seen[0]


def _inline(statement: str, params: object, backend: str) -> str:
    """The statement with its parameters written in, for EXPLAIN."""
    def lit(v: object) -> str:
        if isinstance(v, (int, float)):
            return str(v)
        return "'" + str(v).replace("'", "''") + "'"

    if backend == "sqlite":
        assert isinstance(params, (tuple, list))
        parts = statement.split("?")
        return "".join(p + (lit(params[i]) if i < len(params) else "") for i, p in enumerate(parts))
    assert isinstance(params, dict)
    for key, value in params.items():
        statement = statement.replace(f"%({key})s", lit(value))
    return statement


def counts_by_index(session: Session, campaign_id: str) -> dict[str, int]:
    """The report's counts as revisions 0005-0006 took them: per list, one ix_contacts_due entry per contact."""
    list_ids = session.scalars(
        select(campaign_dial_lists.c.dial_list_id).where(campaign_dial_lists.c.campaign_id == campaign_id)
    ).all()
    counts: dict[str, int] = {}
    for list_id in list_ids:
        for status, n in session.execute(
            select(Contact.status, func.count()).where(Contact.dial_list_id == list_id).group_by(Contact.status)
        ):
            counts[status] = counts.get(status, 0) + int(n)
    return counts


def run(backend: str, size: int, repeat: int, *, before: bool = True) -> dict[str, object]:
    nothing = Timing(float("nan"))
    nothing.fastest = float("nan")
    before_ms = counts_before = nothing
    before_plan = "-"
    # The models now carry columns of later revisions, so the rows go in at
    # 0006 (the last before contact_counts) unless the 0002 query is wanted.
    with database(backend) as url:
        engine = make_engine(url)
        try:
            # (0006 was the last before contact_counts; the plans have columns of 0008 since: head)
            if before:
                migrate(engine, "0002")
            else:
                migrate(engine)
            factory = make_sessionmaker(engine)
            with factory() as session:
                t0 = time.perf_counter()
                campaign_id = populate(session, size)
                load_s = time.perf_counter() - t0
                session.connection().exec_driver_sql("ANALYZE")
                session.commit()
                if before:
                    before_ms = timed(session, lambda: before_query(session, campaign_id), repeat)
                    counts_before = timed(session, lambda: contact_counts(session, campaign_id), max(3, repeat // 4))
                    before_plan = plan_note(session, backend, last_statement(session, backend, lambda: before_query(session, campaign_id)))
            migrate(engine)
            # VACUUM too on PostgreSQL: a settled table, as a running system has (index-only scans).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE" if backend == "postgresql" else "ANALYZE")
            with factory() as session:
                pick = lambda: contacts_due(session, campaign_id, NOW, PICK)  # noqa: E731
                assert len(pick()) == PICK
                # Run alternately, so both see the same moments of a busy machine.
                after = timed(session, pick, repeat)
                rows_only = timed(session, lambda: contacts_due(session, campaign_id, NOW, PICK, with_numbers=False), repeat)
                # As the engine picks: it knows the campaign's lists (one round trip less).
                lists = list(session.scalars(
                    select(campaign_dial_lists.c.dial_list_id).where(campaign_dial_lists.c.campaign_id == campaign_id)
                ))
                as_engine = timed(
                    session, lambda: contacts_due(session, campaign_id, NOW, PICK, list_ids=lists), repeat, in_transaction=True
                )
                # The same pick as plain rows (DueContact, numbers joined in): what the engine picks now.
                light = timed(
                    session, lambda: due_rows(session, campaign_id, NOW, PICK, list_ids=lists), repeat, in_transaction=True
                )
                assert [c.id for c in due_rows(session, campaign_id, NOW, PICK)] == [c.id for c in pick()]
                # The dial guard over the 50: one contact at a time on ORM objects (before), or
                # prepared for the tick on plain rows (after). Its DNC check rows are rolled back.
                campaign = session.scalars(select(Campaign).where(Campaign.id == campaign_id).options(*CAMPAIGN_LINKS)).one()
                now_s = NOW.timestamp()

                def guard_before() -> None:
                    guard = ComplianceGuard()
                    for c in contacts_due(session, campaign_id, NOW, PICK, list_ids=lists):
                        assert guard.check(session, campaign, c, c.numbers[0], now_s).allowed
                    session.flush()

                def guard_after() -> None:
                    guard = ComplianceGuard()
                    rows = due_rows(session, campaign_id, NOW, PICK, list_ids=lists)
                    guard.prepare(session, campaign, rows, now_s)
                    for c in rows:
                        assert guard.check(session, campaign, c, c.numbers[0], now_s).allowed
                    session.flush()

                checked_before = timed(session, guard_before, repeat, in_transaction=True, keep=True)
                checked_after = timed(session, guard_after, repeat, in_transaction=True, keep=True)
                after_plan = plan_note(session, backend, last_statement(session, backend, pick))
                light_plan = plan_note(
                    session, backend, last_statement(session, backend, lambda: due_rows(session, campaign_id, NOW, PICK))
                )
                assert contact_status_counts(session, campaign_id) == counts_by_index(session, campaign_id)
                by_index = timed(session, lambda: counts_by_index(session, campaign_id), max(3, repeat // 4))
                counts = timed(session, lambda: contact_status_counts(session, campaign_id), repeat)
        finally:
            engine.dispose()
    return {
        "backend": backend, "contacts": size, "load_s": load_s,
        "before_ms": before_ms, "before_plan": before_plan,
        "after_ms": after, "after_rows_ms": rows_only, "engine_ms": as_engine, "after_plan": after_plan,
        "light_ms": light, "light_plan": light_plan, "guard_before_ms": checked_before, "guard_after_ms": checked_after,
        "report_counts_ms": counts, "report_counts_index_ms": by_index, "report_counts_before_ms": counts_before,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="sqlite", help="sqlite, postgresql or both (comma-separated)")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--skip-before", action="store_true", help="leave out the 0002 query (18 s a pick at 1M on SQLite)")
    args = parser.parse_args(argv)
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", file=sys.stderr)
    picks: list[str] = []
    print(
        "| backend | contacts | before: pick 50 | before plan | after: pick 50 "
        "| after: pick 50, CPU | as the engine picks (lists known, in its transaction) | its CPU | after: rows only | after plan | report counts before (join) | by index (0005) "
        "| contact_counts (0007) | its CPU |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for backend in args.backend.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            r = run(backend, size, args.repeat, before=not args.skip_before)
            print(
                f"| {backend} | {size:,} | {r['before_ms']:.1f} ms | {r['before_plan']} | "
                f"{r['after_ms']:.1f} ms | {r['after_ms'].cpu:.1f} ms | {r['engine_ms']:.1f} ms | {r['engine_ms'].cpu:.1f} ms | "
                f"{r['after_rows_ms']:.1f} ms | {r['after_plan']} | "
                f"{r['report_counts_before_ms']:.1f} ms | {r['report_counts_index_ms']:.1f} ms | {r['report_counts_ms']:.2f} ms | "
                f"{r['report_counts_ms'].cpu:.2f} ms |",
                flush=True,
            )
            print(f"  (loaded in {r['load_s']:.0f} s; load average {os.getloadavg()[0]:.1f})", file=sys.stderr)
            picks.append(
                f"| {backend} | {size:,} | {r['engine_ms']:.1f} ms | {r['engine_ms'].cpu:.1f} ms | "
                f"{r['light_ms']:.1f} ms | {r['light_ms'].cpu:.1f} ms | {r['light_plan']} | "
                f"{r['guard_before_ms']:.1f} ms | {r['guard_before_ms'].cpu:.1f} ms | "
                f"{r['guard_after_ms']:.1f} ms | {r['guard_after_ms'].cpu:.1f} ms |"
            )
    print()
    print(
        "| backend | contacts | pick 50, ORM objects (before) | its CPU | pick 50, plain rows (now) | its CPU | plan "
        "| pick + guard over 50, one at a time (before) | its CPU | pick + guard, prepared per tick (now) | its CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    print("\n".join(picks), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
