"""What a restarted engine pays to restore a campaign's month of live answers.

    python benchmarks/restore_answers.py --answers 1000000
    python benchmarks/restore_answers.py --answers 1000000 --database postgresql+psycopg://postgres@127.0.0.1/test

A campaign's calls over 31 days (a tenth not live answers, one live answer in 40
abandoned), written into a fresh database (SQLite under /tmp, or a new PostgreSQL
database that is dropped after); then, side by side, the runner restored from
every live answer read one by one (``live_answers_since``, before) and from the
answers counted in the database (``live_answer_counts``, now). Printed per way:
the rows read, wall time (median of 3) and the Python memory the rows took at
their peak (tracemalloc, a separate pass). The two runners' abandon windows are
checked equal.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, make_url, text

from olive.engine import live_answers_since
from olive.engine._answer_history import LIVE_ANSWERS_S
from olive.engine._runner import CampaignRunner
from olive.engine._stats import live_answer_counts
from olive.specs import PlanSpec
from olive.store import Call, Campaign, Plan, make_engine, make_sessionmaker, migrate, transaction

NOW = time.time()
DAY = 86_400.0


def seed(sessions: Any, answers: int) -> str:
    rng = random.Random(3)
    with transaction(sessions) as session:
        plan = Plan(name="restore plan", **PlanSpec(channel_template="Local/{number}@customers").to_row())
        campaign = Campaign(name="restore", status="running", plan=plan, queue="olive-restore")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    done = 0
    while done < answers:
        batch = min(20_000, answers - done)
        rows = []
        for i in range(batch):
            n = done + i
            outcome = "NO_ANSWER" if n % 10 == 9 else ("ABANDONED" if n % 40 == 0 else "CONNECTED")
            at = datetime.fromtimestamp(NOW - rng.uniform(0, LIVE_ANSWERS_S - 60), UTC)
            rows.append({"campaign_id": campaign_id, "number": f"+1555{n % 10_000_000:07d}", "state": "ended",
                         "outcome": outcome, "ended_at": at})
        with transaction(sessions) as session:
            session.execute(insert(Call), rows)
        done += batch
        print(f"  seeded {done:,} calls", flush=True)
    return campaign_id


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    runs = []
    out = None
    for _ in range(3):
        started = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), out


def peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=300_000, help="calls over the month (default 300,000)")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (a new database is made there); default SQLite")
    args = parser.parse_args()
    admin = None
    if args.database:
        admin = create_engine(args.database, isolation_level="AUTOCOMMIT")
        name = f"olive_restore_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.database).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'restore.db'}"
    engine = make_engine(url)
    try:
        migrate(engine)
        sessions = make_sessionmaker(engine)
        campaign_id = seed(sessions, args.answers)
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
        since = NOW - LIVE_ANSWERS_S
        runners: dict[str, CampaignRunner] = {}

        def before() -> int:
            with transaction(sessions) as session:
                rows = live_answers_since(session, campaign_id, since)
            runners["before"] = runner = CampaignRunner(campaign_id, {"dial_mode": "predictive"}, "us-tsr")
            runner.restore(rows)
            return len(rows)

        def now() -> int:
            with transaction(sessions) as session:
                rows = live_answer_counts(session, campaign_id, since, NOW)
            runners["now"] = runner = CampaignRunner(campaign_id, {"dial_mode": "predictive"}, "us-tsr")
            runner.restore_counted(rows)
            return len(rows)

        for label, fn in (("rows one by one (before)", before), ("counted in the database (now)", now)):
            seconds, read = timed(fn)
            print(f"{label:32} rows read {read:>9,}  {seconds * 1000:9.1f} ms  peak {peak_mb(fn):7.1f} MB", flush=True)
        for w in (3600.0, 30 * DAY):
            a = runners["before"].pacer.ledger.window(w, NOW)  # type: ignore[attr-defined]
            b = runners["now"].pacer.ledger.window(w, NOW)  # type: ignore[attr-defined]
            assert (a.live_answers, a.abandons) == (b.live_answers, b.abandons), (w, a, b)
        print("abandon windows (1 h, 30 days): equal")
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
