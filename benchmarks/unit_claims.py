"""What fencing costs a claim: contacts claimed per second, unfenced against fenced, on PostgreSQL.

    python benchmarks/unit_claims.py                          # a private database on 127.0.0.1, then dropped
    python benchmarks/unit_claims.py --url postgresql+psycopg://postgres@127.0.0.1/test --rounds 7

One campaign, ``--contacts`` contacts. Each transaction claims ``--batch``
contacts, as one engine tick would, in one of three ways:

* ``unfenced``: ``contacts_due`` then ``claim_contact`` for each (today's
  single-node engine);
* ``fenced, per contact``: ``contacts_due`` then ``claim_contact_for_unit``
  for each (the engine's flow with a lease: the first claim of the
  transaction takes the fence, ``FOR SHARE`` on the unit row; the others
  share it);
* ``fenced, batch``: ``claim_contacts`` (one fence, ``FOR UPDATE SKIP
  LOCKED`` on the due contacts, then the claims);

and ``fenced, batch, 2 units``: two threads, the campaign's two units on two
servers, claiming from the same contacts at once (their sum).

The ways run in turn within each round (a, b, c, d, a, b, ...), each for
``--txns`` transactions, on contacts reset between runs; the table shows each
one's median over the rounds in claims per wall-clock second, and the ratio
to ``unfenced``. Wall-clock time on a shared machine: compare the rows of one
run, not runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text, update
from sqlalchemy.orm import Session, sessionmaker

from olive.ids import new_id
from olive.store import (
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    Plan,
    ServerLimits,
    UnitLease,
    acquire_units,
    claim_contact,
    claim_contact_for_unit,
    claim_contacts,
    contacts_due,
    make_engine,
    make_sessionmaker,
    migrate,
    register_servers,
    set_campaign_servers,
    transaction,
)

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TTL_S = 3600.0


def setup(sessions: sessionmaker[Session], contacts: int) -> tuple[str, list[UnitLease]]:
    with transaction(sessions) as s:
        register_servers(s, {"pbx-a": ServerLimits(), "pbx-b": ServerLimits()})
        plan = Plan(name="bench", channel_template="PJSIP/{number}@trunk")
        dial_list = DialList(name="bench")
        s.add_all([plan, dial_list])
        s.flush()
        s.add_all(
            Contact(dial_list_id=dial_list.id, numbers=[ContactNumber(position=0, number=f"+1555{k:07d}")])
            for k in range(contacts)
        )
        campaign = Campaign(name="bench", plan_id=plan.id, queue="q", status="running", dial_lists=[dial_list])
        s.add(campaign)
        s.flush()
        set_campaign_servers(s, campaign.id, ["pbx-a", "pbx-b"])
        leases = acquire_units(s, "bench", TTL_S, limit=2)
    return campaign.id, leases


def reset(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        s.execute(
            update(Contact)
            .where(Contact.active_call_id.is_not(None))
            .values(active_call_id=None, status="pending", claim_server=None, claim_token=None)
        )


def unfenced(sessions: sessionmaker[Session], campaign_id: str, batch: int) -> int:
    with transaction(sessions) as s:
        due = contacts_due(s, campaign_id, time.time(), batch, with_numbers=False)
        return sum(claim_contact(s, c.id, new_id("call")) for c in due)


def fenced_each(sessions: sessionmaker[Session], campaign_id: str, lease: UnitLease, batch: int) -> int:
    with transaction(sessions) as s:
        due = contacts_due(s, campaign_id, time.time(), batch, with_numbers=False)
        return sum(claim_contact_for_unit(s, lease, c.id, new_id("call")) for c in due)


def fenced_batch(sessions: sessionmaker[Session], lease: UnitLease, batch: int) -> int:
    with transaction(sessions) as s:
        return len(claim_contacts(s, lease, batch))


def timed(run: Callable[[], int], txns: int) -> float:
    start, claimed = time.perf_counter(), 0
    for _ in range(txns):
        claimed += run()
    return claimed / (time.perf_counter() - start)


def two_units(sessions: sessionmaker[Session], leases: list[UnitLease], batch: int, txns: int) -> float:
    counts = [0, 0]
    barrier = threading.Barrier(2)

    def worker(i: int) -> None:
        barrier.wait()
        for _ in range(txns):
            counts[i] += fenced_batch(sessions, leases[i], batch)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a migrated-or-empty PostgreSQL database to use (default: a private one)")
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--txns", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    private = None
    url = args.url
    if url is None:
        private = f"olive_bench_units_{uuid.uuid4().hex[:8]}"
        with create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'CREATE DATABASE "{private}"'))
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{private}"
    try:
        migrate(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        campaign_id, leases = setup(sessions, args.contacts)
        ways: dict[str, Callable[[], float]] = {
            "unfenced": lambda: timed(lambda: unfenced(sessions, campaign_id, args.batch), args.txns),
            "fenced, per contact": lambda: timed(lambda: fenced_each(sessions, campaign_id, leases[0], args.batch), args.txns),
            "fenced, batch": lambda: timed(lambda: fenced_batch(sessions, leases[0], args.batch), args.txns),
            "fenced, batch, 2 units": lambda: two_units(sessions, leases, args.batch, args.txns // 2),
        }
        results: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():
                reset(sessions)
                results[name].append(way())
        engine.dispose()
    finally:
        if private is not None:
            with create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT").connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{private}" WITH (FORCE)'))
    base = statistics.median(results["unfenced"])
    print(f"{args.contacts} contacts, {args.batch} claims a transaction, {args.txns} transactions, "
          f"median of {args.rounds} rounds")
    print(f"{'way':<24} {'claims/s':>10} {'vs unfenced':>12}")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:<24} {median:>10.0f} {median / base:>11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
