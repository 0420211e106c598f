"""Scale-out against one big node: calls per second and tick latency per node (issue 15).

    python benchmarks/scale_out.py                       # N = 12 agents a server, 40 s a layout
    python benchmarks/scale_out.py --agents 30 --seconds 90

Real processes, as in production: ``olive sim`` (real time, customers who answer in
0.5 s and talk 2.5 s, nine in ten answer) and ``olive serve``, on a private PostgreSQL
database (created on 127.0.0.1, dropped at the end). Three layouts of the same total
size, 2N agents and 6 campaigns (N/3 agents each) unless said:

* ``3 nodes x 2 servers``: ``olive serve --scale-out`` three times, two simulators,
  three campaigns on each server (6 units, 2 a node);
* ``1 node x 1 server (units)``: one ``--scale-out`` node, one simulator, the six
  campaigns on it (6 units in one process);
* ``1 node x 1 server (classic)``: today's single-node ``olive serve`` (one engine,
  the dialing lease), the same six campaigns;
* ``1 node x 1 campaign``: classic, one campaign of all 2N agents (the pool effect:
  one pacer for everyone).

Calls per second are the Originates the simulators logged (``--originate-log``)
between the first and the last, per node; tick latency is the node's engines' ticks
(``--scale-out`` nodes log their units' median/p95 at exit; the classic node's come from
``/metrics``, whose ``olive_engine_tick_seconds`` is the units' ticks on a ``--scale-out`` node). Wall-clock figures on a shared 2-core machine: compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from olive.specs import PlanSpec
from olive.store import (
    Agent,
    Call,
    Campaign,
    ContactRow,
    DialList,
    Plan,
    create_api_key,
    import_contacts,
    make_engine,
    make_sessionmaker,
    migrate,
    transaction,
)

OLIVE = [sys.executable, "-m", "olive.cli.__main__"]
ADMIN_URL = os.environ.get("OLIVE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench"
QUEUES = [f"so-{i}" for i in range(1, 7)]
SCENARIO = """
name = "scale-out-bench"
seed = 15
scale = 1

[pbx]
dialplan = ["@olive"]
queues = ["@olive"]
{queues}
[trunks.trunk]
context = "from-trunk"

[[trunks.trunk.rules]]
match = "_+1202555XXXX"
outcome = "answer"
delay = 0.5
talk = 2.5

[agents]
answer_delay = 0.1
"""
QUEUE = """
[queues.{name}]
strategy = "rrmemory"
timeout = 2
retry = 1
joinempty = "yes"
leavewhenempty = "no"
ringinuse = "no"
autofill = "yes"
timeoutpriority = "app"
setinterfacevar = "yes"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(predicate: object, within_s: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark: not within {within_s:g} s: {what}")
        time.sleep(0.2)


def campaigns(sessions: sessionmaker[Session], servers: list[str], per_server: int, agents_each: int, contacts: int) -> None:
    n = 0
    with transaction(sessions) as s:
        for server in servers:
            for q in range(per_server):
                spec = PlanSpec(channel_template="PJSIP/{number}@trunk", dial_timeout_s=5)
                plan = Plan(name=f"{server}-{q} plan", **spec.to_row())
                dial_list = DialList(name=f"{server}-{q} list")
                agents = [
                    Agent(name=f"{server}-{q}-{i}", interface=f"PJSIP/{server}{q}{i}", state="ready") for i in range(agents_each)
                ]
                s.add_all([plan, dial_list, *agents])
                s.flush()
                import_contacts(s, dial_list.id, [ContactRow(numbers=(f"+1202555{n}{i:03d}",)) for i in range(contacts)])
                s.add(Campaign(name=f"{server}-{q}", status="running", plan=plan, queue=QUEUES[q], server=server,
                               compliance_profile="none", dial_lists=[dial_list], agents=agents))
                n += 1


def run_layout(name: str, url: str, tmp: Path, *, nodes: int, servers: int, per_server: int, agents_each: int,
               seconds: float, scale_out: bool) -> dict[str, object]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with engine.begin() as conn:  # a clean database for each layout
        conn.execute(text("TRUNCATE calls, contacts, campaigns, agents, dial_lists, plans, units, nodes, servers, api_keys CASCADE"))
    names = [f"s{i + 1}" for i in range(servers)]
    campaigns(sessions, names, per_server, agents_each, contacts=min(999, int(seconds * 6) + 200))
    with transaction(sessions) as s:
        _, key = create_api_key(s, "bench", role="admin")
    scenario = tmp / "scenario.toml"
    scenario.write_text(SCENARIO.format(queues="".join(QUEUE.format(name=q) for q in QUEUES)))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    ports: dict[str, int] = {}
    logs: dict[str, Path] = {}
    try:
        for server in names:
            ports[server] = free_port()
            logs[server] = tmp / f"{name}-{server}.log"
            (tmp / f"{name}-{server}.jsonl").unlink(missing_ok=True)
            procs[server] = subprocess.Popen(
                [*OLIVE, "sim", "--scenario", str(scenario), "--port", str(ports[server]), "--secret", SECRET,
                 "--originate-log", str(tmp / f"{name}-{server}.jsonl")],
                stdout=logs[server].open("wb"), stderr=subprocess.STDOUT,
            )
        for server in names:
            wait_for(lambda s=server: f":{ports[s]}" in logs[s].read_text(), 60, f"olive sim {server}")
        api_ports = {}
        for i in range(nodes):
            node = f"n{i + 1}"
            api_ports[node] = free_port()
            logs[node] = tmp / f"{name}-{node}.log"
            args = [*OLIVE, "serve", "--node", node, "--database-url", url, "--port", str(api_ports[node])]
            args += [a for s in names for a in ("--asterisk", f"ami://olive@127.0.0.1:{ports[s]}/{s}?secret_env=BENCH_SECRET")]
            procs[node] = subprocess.Popen(
                [*args, *(["--scale-out"] if scale_out else [])], stdout=logs[node].open("wb"), stderr=subprocess.STDOUT,
                env={**os.environ, "BENCH_SECRET": SECRET},
            )
        time.sleep(seconds)
        ticks: dict[str, str] = {}
        # every layout's /metrics (a --scale-out node's are its units' ticks)
        for node, port in api_ports.items():
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {key}"})
                body = urllib.request.urlopen(request, timeout=10).read().decode()
            except OSError as exc:
                ticks[node] = f"/metrics: {exc}"
                continue
            ticks[node] = _histogram_summary(body)
        for node in api_ports:
            procs[node].send_signal(signal.SIGTERM)
        for node in api_ports:
            procs[node].wait(60)
        for node in api_ports:
            if scale_out:
                found = re.findall(r"node \S+: (\d+ unit ticks: .*)", logs[node].read_text())
                ticks[node] = (found[-1] if found else "no tick summary in the log") + f" (/metrics: {ticks.get(node)})"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
    originates = []
    for server in names:
        path = tmp / f"{name}-{server}.jsonl"
        for line in path.read_text().splitlines() if path.exists() else []:
            entry = json.loads(line)
            if entry["event"] == "originate":
                originates.append(entry)
    times = sorted(o["t"] for o in originates)
    span = (times[-1] - times[0]) if len(times) > 1 else float("nan")
    per_node = Counter(o["vars"].get("OLIVE_NODE", "n1") for o in originates)
    with transaction(sessions) as s:
        outcomes = Counter(c for c in s.scalars(select(Call.outcome)))
    engine.dispose()
    live = outcomes["CONNECTED"] + outcomes["ABANDONED"]
    return {
        "layout": name,
        "calls": len(originates),
        "calls/s": len(originates) / span if span == span and span > 0 else 0.0,
        "per node": {n: per_node[n] / span for n in sorted(per_node)} if span == span and span > 0 else {},
        "abandoned": f"{outcomes['ABANDONED']}/{live}",
        "ticks": ticks,
    }


def _histogram_summary(metrics: str) -> str:
    """Median and p95 of olive_engine_tick_seconds from a Prometheus text page (bucket upper bounds)."""
    buckets = []
    for line in metrics.splitlines():
        m = re.match(r'olive_engine_tick_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            buckets.append((float(m.group(1)), float(m.group(2))))
    if not buckets or buckets[-1][1] == 0:
        return "no tick histogram"
    total = buckets[-1][1]

    def quantile(q: float) -> float:
        return next(le for le, count in buckets if count >= q * total)

    return f"{int(total)} ticks: median <= {quantile(0.5) * 1000:g} ms, p95 <= {quantile(0.95) * 1000:g} ms (histogram bounds)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=12, help="N: agents per server in the 2-server layout (2N in all)")
    parser.add_argument("--seconds", type=float, default=40.0, help="each layout's run")
    parser.add_argument("--url", help="a PostgreSQL database to use (default: a private one, dropped at the end)")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    parser.add_argument("--only", help="run only the layouts whose name contains this")
    args = parser.parse_args(argv)
    if args.agents % 3:
        parser.error("--agents must be a multiple of 3 (three campaigns a server)")
    private = None
    url = args.url
    if url is None:
        private = f"olive_bench_scale_out_{uuid.uuid4().hex[:8]}"
        with create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'CREATE DATABASE "{private}"'))
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{private}"
    results = []
    try:
        migrate(url)
        n = args.agents
        with tempfile.TemporaryDirectory() as scratch:
            tmp = str(args.logs or scratch)
            Path(tmp).mkdir(parents=True, exist_ok=True)
            layouts = [
                ("3 nodes x 2 servers", dict(nodes=3, servers=2, per_server=3, agents_each=n // 3, scale_out=True)),
                ("1 node x 1 server (units)", dict(nodes=1, servers=1, per_server=6, agents_each=n // 3, scale_out=True)),
                ("1 node x 1 server (classic)", dict(nodes=1, servers=1, per_server=6, agents_each=n // 3, scale_out=False)),
                ("1 node x 1 campaign", dict(nodes=1, servers=1, per_server=1, agents_each=2 * n, scale_out=False)),
            ]
            for name, layout in layouts:
                if args.only and args.only not in name:
                    continue
                print(f"running {name} ...", file=sys.stderr, flush=True)
                results.append(run_layout(name, url, Path(tmp), seconds=args.seconds, **layout))  # type: ignore[arg-type]
    finally:
        if private is not None:
            with create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT").connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{private}" WITH (FORCE)'))
    print(f"{2 * args.agents} agents in all, {args.seconds:g} s a layout, load average {os.getloadavg()[0]:.1f}")
    print("| layout | calls | calls/s | per node (calls/s) | abandoned/live | tick latency per node |")
    print("|---|---|---|---|---|---|")
    for r in results:
        per_node = ", ".join(f"{k} {v:.2f}" for k, v in r["per node"].items())  # type: ignore[attr-defined]
        ticks = "; ".join(f"{k}: {v}" for k, v in r["ticks"].items())  # type: ignore[attr-defined]
        print(f"| {r['layout']} | {r['calls']} | {r['calls/s']:.2f} | {per_node} | {r['abandoned']} | {ticks} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
