"""What one tick's placing costs the engine's database thread, without the simulator.

    python benchmarks/place_dials.py                                    # PostgreSQL, 40 dials a tick
    python benchmarks/place_dials.py --database sqlite --dials 20
    python benchmarks/place_dials.py --database postgresql+psycopg://postgres@127.0.0.1/test

``engine_load.py`` measures the whole engine against ``olive sim``: its tick
figures move by a third between two runs of the same code on a 2-core machine
(the simulator, PostgreSQL's backend and the engine's two threads share the
cores). This times one step alone: ``Engine._place_dials`` (the guard with its
DNC records, the claim, the call rows, the commit) for ``--dials`` dials, on a
throw-away database of ``--contacts`` contacts and ``--agents`` agents, the
real compliance guard, ``--repeat`` times, in this thread. Printed as JSON:
the median and quartiles of wall and CPU time per dial, and the statements
and distinct SQL texts per tick. Run it for two commits one after the other
(``PYTHONPATH=<checkout>/src``) and compare medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from olive.ami import ServerConfig
from olive.compliance import ComplianceGuard
from olive.engine import Engine
from olive.pacing import DialDecision
from olive.specs import PlanSpec
from olive.store import (
    Agent,
    Campaign,
    ContactRow,
    DialList,
    Plan,
    import_contacts,
    make_engine,
    make_sessionmaker,
    migrate,
    transaction,
)

# A Monday, noon in Washington DC (the numbers' zone): every contact may be called.
NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC).timestamp()


def setup(url: str, agents: int, contacts: int) -> tuple[Any, Engine]:
    migrate(url)
    bind = make_engine(url)
    sessions = make_sessionmaker(bind)
    spec = PlanSpec(channel_template="PJSIP/{number}@trunk", dial_mode="power", lines_per_agent=2.0)
    with transaction(sessions) as s:
        plan = Plan(name="p", **spec.to_row())
        dial_list = DialList(name="l")
        people = [Agent(name=f"agent{i}", interface=f"PJSIP/{1000 + i}", state="ready") for i in range(agents)]
        s.add_all([plan, dial_list, *people])
        s.flush()
        import_contacts(s, dial_list.id, [ContactRow(numbers=(f"+1202{5550000 + i:07d}",)) for i in range(contacts)])
        s.add(Campaign(name="c", status="running", plan=plan, queue="q", compliance_profile="us-tsr",
                       dial_lists=[dial_list], agents=people))
    engine = Engine(sessions, {"default": ServerConfig(port=1)}, guard=ComplianceGuard())
    refreshed = engine._read_refresh(NOW)
    engine._apply_refresh(refreshed, NOW)
    return bind, engine


def quartiles(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=4)
    return {"p25": round(q[0], 3), "median": round(statistics.median(values), 3), "p75": round(q[2], 3)}


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    bind, engine = setup(url, args.agents, args.contacts)
    statements: list[int] = [0]
    texts: set[str] = set()

    def keep(_c: object, _cur: object, statement: str, *_: object) -> None:
        statements[0] += 1
        texts.add(statement)

    event.listen(bind, "before_cursor_execute", keep)
    wall: list[float] = []
    cpu: list[float] = []
    per_tick: list[int] = []
    for i in range(args.warmup + args.repeat):
        statements[0] = 0
        t, c = time.perf_counter(), time.thread_time()
        placed, _ = engine._place_dials([(engine.campaigns[0], DialDecision(args.dials, "bench"))], NOW + i)
        spent, spent_cpu = time.perf_counter() - t, time.thread_time() - c
        if len(placed) != args.dials:
            raise SystemExit(f"placed {len(placed)} of {args.dials}: give more --contacts")
        if i >= args.warmup:
            wall.append(spent * 1000 / args.dials)
            cpu.append(spent_cpu * 1000 / args.dials)
            per_tick.append(statements[0])
    bind.dispose()
    return {
        "database": bind.dialect.name,
        "dials_per_tick": args.dials,
        "ticks": args.repeat,
        "wall_ms_per_dial": quartiles(wall),
        "cpu_ms_per_dial": quartiles(cpu),
        "statements_per_tick": statistics.median(per_tick),
        "sql_texts": len(texts),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1/test",
                        help="sqlite, or a PostgreSQL URL whose server gets a throw-away database")
    parser.add_argument("--dials", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=8000)
    args = parser.parse_args()
    if args.contacts < 2 * args.dials * (args.warmup + args.repeat) + 5:
        args.contacts = 2 * args.dials * (args.warmup + args.repeat) + 5  # the pick reads twice what it dials
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            result = run(f"sqlite:///{tmp}/bench.db", args)
    else:
        sys.path.insert(0, os.path.dirname(__file__))
        from engine_load import drop_postgres, fresh_postgres

        url = fresh_postgres(args.database)
        try:
            result = run(url, args)
        finally:
            drop_postgres(url)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
