"""Scale-out against one big node: calls per second and tick latency per node (issue 15).

    python benchmarks/scale_out.py --agents 500               # the issue's size: 3 nodes x 2 servers x 500
    python benchmarks/scale_out.py --agents 100 --seconds 60  # a quick check on a small machine

Real processes, as in production: ``olive sim`` in real time (customers answer after
``--ring`` s and talk ``--talk`` s; agents answer in 0.1 s) and ``olive serve``, on a
private PostgreSQL database (created on 127.0.0.1, dropped at the end). Two layouts of
the same total size, 2N agents in 2C campaigns (``--campaigns`` C per server, the agents
split evenly), progressive dialing:

* ``3 nodes x 2 servers``: ``olive serve --scale-out`` three times, two simulators, C
  campaigns on each server (2C units spread over the three nodes);
* ``1 node x 1 server``: one ``--scale-out`` node, one simulator, the same 2C campaigns
  of the same sizes on it (2C units in one process).

``--classic`` adds a third: the single-node ``olive serve`` (one engine, the dialing
lease; its tick latency comes from ``/metrics``' histogram, so only bucket bounds).

Each layout starts its processes, waits until every campaign has placed a call, lets it
run ``--warmup`` s more, then measures ``--seconds`` s. Per node: the units it held at the
end of the window, the calls it placed per second in the window (Originates the simulators
logged with its ``OLIVE_NODE``), its tick latency (median / p99 of all its units' engines'
ticks, start-up included, which the node logs at exit) and its largest resident memory
(``VmRSS``, sampled every 2 s in the window).
Per layout: abandons over live answers, and the checks: every Originate's call id once,
and no contact dialed while its previous call was still up (from the simulators' logs).

Output: JSON on stdout (one object: the settings, the load average before and after each
layout, and the layouts), a short table on stderr. Wall-clock figures: compare the rows
of one run, and read the load average with them.
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
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from olive.specs import PlanSpec
from olive.store import (
    Agent,
    Call,
    Campaign,
    ContactRow,
    DialList,
    Plan,
    Unit,
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
match = "_+12025XXXXXX"
outcome = "answer"
delay = {ring}
talk = {talk}

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


def wait_for(predicate: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark: not within {within_s:g} s: {what}")
        time.sleep(0.2)


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def make_campaigns(sessions: sessionmaker[Session], servers: list[str], sizes: list[int], contacts_per_agent: int) -> None:
    """``sizes``: each campaign's agents, in turn over ``servers`` (campaign i on servers[i % len])."""
    k = 0
    with transaction(sessions) as s:
        for i, size in enumerate(sizes):
            server = servers[i % len(servers)]
            # max_concurrent above the agents' 1.5 lines: the plan's default (50 a campaign) capped
            # 500 agents a server at 10 calls/s in all, whatever the layout.
            spec = PlanSpec(channel_template="PJSIP/{number}@trunk", dial_timeout_s=5, max_concurrent=max(50, 2 * size))
            plan = Plan(name=f"c{i} plan", **spec.to_row())
            dial_list = DialList(name=f"c{i} list")
            agents = [Agent(name=f"c{i}-{a}", interface=f"PJSIP/c{i}a{a}", state="ready") for a in range(size)]
            s.add_all([plan, dial_list, *agents])
            s.flush()
            rows = []
            for _ in range(size * contacts_per_agent):
                rows.append(ContactRow(numbers=(f"+12025{k:06d}",)))
                k += 1
            import_contacts(s, dial_list.id, rows)
            # Any hour: the nodes run on the wall clock, and without a schedule a campaign keeps
            # 08:00-21:00 local (+1 202: from 02:00 to 13:00 UTC it dialed nothing and the run gave up).
            s.add(Campaign(name=f"c{i}", status="running", plan=plan, queue=f"q{i}", server=server,
                           compliance_profile="none", schedule={"start": "00:00", "end": "24:00"},
                           dial_lists=[dial_list], agents=agents))


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_layout(name: str, url: str, tmp: Path, args: argparse.Namespace, *, nodes: int, servers: int,
               scale_out: bool) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with engine.begin() as conn:  # a clean database for each layout
        conn.execute(text("TRUNCATE calls, contacts, campaigns, agents, dial_lists, plans, units, nodes, servers, "
                          "leases, api_keys CASCADE"))
    names = [f"s{i + 1}" for i in range(servers)]
    n_campaigns = 2 * args.campaigns
    sizes = split(2 * args.agents, n_campaigns)
    contacts_per_agent = max(2, int((args.seconds + args.warmup + 60) / (args.ring + args.talk + 1)) + 2)
    make_campaigns(sessions, names, sizes, contacts_per_agent)
    with transaction(sessions) as s:
        _, key = create_api_key(s, "bench", role="admin")
    scenario = tmp / "scenario.toml"
    scenario.write_text(SCENARIO.format(queues="".join(QUEUE.format(name=f"q{i}") for i in range(n_campaigns)),
                                        ring=args.ring, talk=args.talk))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    ports: dict[str, int] = {}
    logs: dict[str, Path] = {}
    load_before = os.getloadavg()
    rss: dict[str, float] = defaultdict(float)
    held: dict[str, int] = {}
    ticks: dict[str, dict[str, Any]] = {}
    stem = name.replace(" ", "")
    try:
        for server in names:
            ports[server] = free_port()
            logs[server] = tmp / f"{stem}-{server}.log"
            (tmp / f"{stem}-{server}.jsonl").unlink(missing_ok=True)
            procs[server] = subprocess.Popen(
                [*OLIVE, "sim", "--scenario", str(scenario), "--port", str(ports[server]), "--secret", SECRET,
                 "--originate-log", str(tmp / f"{stem}-{server}.jsonl")],
                stdout=logs[server].open("wb"), stderr=subprocess.STDOUT,
            )
        for server in names:
            wait_for(lambda s=server: f":{ports[s]}" in logs[s].read_text(), 60, f"olive sim {server}")
        api_ports = {}
        for i in range(nodes):
            node = f"n{i + 1}"
            api_ports[node] = free_port()
            logs[node] = tmp / f"{stem}-{node}.log"
            command = [*OLIVE, "serve", "--node", node, "--database-url", url, "--port", str(api_ports[node])]
            command += [a for s in names for a in ("--asterisk", f"ami://olive@127.0.0.1:{ports[s]}/{s}?secret_env=BENCH_SECRET")]
            procs[node] = subprocess.Popen(
                [*command, *(["--scale-out"] if scale_out else [])], stdout=logs[node].open("wb"), stderr=subprocess.STDOUT,
                env={**os.environ, "BENCH_SECRET": SECRET},
            )
        started = time.time()

        def dialing() -> int:
            seen = set()
            for server in names:
                path = tmp / f"{stem}-{server}.jsonl"
                for line in path.read_text().splitlines() if path.exists() else []:
                    if '"originate"' in line:
                        seen.add(json.loads(line)["vars"].get("OLIVE_CAMPAIGN"))
            return len(seen)

        wait_for(lambda: dialing() >= n_campaigns, args.start_within, "every campaign dialing")
        all_dialing_s = time.time() - started
        time.sleep(args.warmup)
        window = (time.time(), time.time() + args.seconds)
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            for node in api_ports:
                rss[node] = max(rss[node], rss_mb(procs[node].pid))
            time.sleep(min(2.0, max(0.0, end - time.monotonic())))
        with transaction(sessions) as s:
            held = dict(s.execute(select(Unit.owner_node, func.count()).group_by(Unit.owner_node)).all())  # type: ignore[arg-type]
        for node, port in api_ports.items():
            if not scale_out:  # the classic node's ticks: /metrics' histogram (bucket bounds)
                try:
                    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {key}"})
                    ticks[node] = histogram_quantiles(urllib.request.urlopen(request, timeout=10).read().decode())
                except OSError as exc:
                    ticks[node] = {"error": str(exc)}
        for node in api_ports:
            procs[node].send_signal(signal.SIGTERM)
        for node in api_ports:
            procs[node].wait(120)
        if scale_out:
            for node in api_ports:
                ticks[node] = log_quantiles(logs[node].read_text(errors="replace"))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
    load_after = os.getloadavg()
    sent: list[dict[str, Any]] = []
    hangups: dict[str, float] = {}
    for server in names:
        path = tmp / f"{stem}-{server}.jsonl"
        for line in path.read_text().splitlines() if path.exists() else []:
            entry = json.loads(line)
            if entry["event"] == "originate":
                sent.append(entry)
            elif entry["event"] == "hangup":
                hangups[entry["call_id"]] = max(hangups.get(entry["call_id"], 0.0), entry["t"])
    span = args.seconds
    measured = [o for o in sent if window[0] <= o["t"] < window[1]]
    per_node = Counter(o["vars"].get("OLIVE_NODE", "n1") for o in measured)
    with transaction(sessions) as s:
        outcomes = Counter(s.scalars(select(Call.outcome)))
    engine.dispose()
    live = outcomes["CONNECTED"] + outcomes["ABANDONED"]
    ids = [o["call_id"] for o in sent]
    twice = 0  # a contact's next Originate before its previous call hung up
    by_contact: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in sent:
        by_contact[o["vars"].get("OLIVE_CONTACT", o["call_id"])].append(o)
    for seen in by_contact.values():
        seen.sort(key=lambda o: o["t"])
        for a, b in pairwise(seen):
            ended = hangups.get(a["call_id"])
            if ended is None or b["t"] < ended:
                twice += 1
    return {
        "layout": name,
        "nodes": {
            node: {
                "units": held.get(node, 0) if scale_out else None,
                "calls": per_node[node],
                "calls_per_s": round(per_node[node] / span, 2) if span else 0.0,
                "tick_ms": ticks.get(node, {}),
                "rss_mb": round(rss[node], 1),
            }
            for node in sorted(api_ports)
        },
        "every_campaign_dialing_after_s": round(all_dialing_s, 1),
        "calls": len(measured),
        "calls_per_s": round(len(measured) / span, 2) if span else 0.0,
        "calls_in_all": len(sent),
        "abandoned": outcomes["ABANDONED"],
        "live_answers": live,
        "originates_sent_twice": len(ids) - len(set(ids)),
        "contacts_dialed_while_up": twice,
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
    }


def log_quantiles(log: str) -> dict[str, Any]:
    """The unit ticks' figures a ``--scale-out`` node logs at exit (olive.engine._unit.UnitEngines.tick_summary)."""
    found = re.findall(r"node \S+: (\d+) unit ticks: median ([\d.]+) ms, p95 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms; (\d+) failed", log)
    if not found:
        return {"error": "no tick summary in the node's log"}
    n, p50, p95, p99, most, failed = found[-1]
    return {"ticks": int(n), "p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(most), "failed": int(failed)}


def histogram_quantiles(metrics: str) -> dict[str, Any]:
    """Median and p99 of olive_engine_tick_seconds from a Prometheus page: bucket upper bounds."""
    buckets = []
    for line in metrics.splitlines():
        m = re.match(r'olive_engine_tick_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            buckets.append((float(m.group(1)), float(m.group(2))))
    if not buckets or buckets[-1][1] == 0:
        return {"error": "no tick histogram"}
    total = buckets[-1][1]

    def at(q: float) -> float:
        return next(le for le, count in buckets if count >= q * total) * 1000

    return {"ticks": int(total), "p50_at_most": at(0.5), "p99_at_most": at(0.99)}


def table(result: dict[str, Any]) -> list[str]:
    lines = ["| layout | node | units | calls/s | tick p50 / p99 (ms) | RSS (MB) |", "|---|---|---|---|---|---|"]
    for r in result["layouts"]:
        for node, n in r["nodes"].items():
            t = n["tick_ms"]
            tick = (f"{t['p50']:.0f} / {t['p99']:.0f}" if "p50" in t else
                    f"<= {t['p50_at_most']:g} / <= {t['p99_at_most']:g}" if "p50_at_most" in t else t.get("error", "?"))
            units = "" if n["units"] is None else n["units"]
            lines.append(f"| {r['layout']} | {node} | {units} | {n['calls_per_s']:.2f} | {tick} | {n['rss_mb']:.0f} |")
        load = r["load_average"]
        lines.append(
            f"| {r['layout']} | all (dialing after {r['every_campaign_dialing_after_s']:g} s) | | {r['calls_per_s']:.2f} | abandoned {r['abandoned']}/{r['live_answers']}, "
            f"sent twice {r['originates_sent_twice']}, contact dialed while up {r['contacts_dialed_while_up']} | "
            f"load {load['before'][0]:.1f} -> {load['after'][0]:.1f} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--agents", type=int, default=500, help="N: agents per server in the 2-server layout (2N in all)")
    parser.add_argument("--campaigns", type=int, default=3, help="C: campaigns per server (2C in all, the agents split evenly)")
    parser.add_argument("--seconds", type=float, default=120.0, help="each layout's measured window")
    parser.add_argument("--warmup", type=float, default=15.0,
                        help="seconds between every campaign's first Originate and the window")
    parser.add_argument("--start-within", type=float, default=300.0, help="give up if some campaign is not dialing by then")
    parser.add_argument("--ring", type=float, default=0.5, help="seconds a customer's phone rings before they answer")
    parser.add_argument("--talk", type=float, default=30.0, help="seconds a customer talks")
    parser.add_argument("--classic", action="store_true", help="add the single-node classic olive serve (1 server)")
    parser.add_argument("--only", help="run only the layouts whose name contains this")
    parser.add_argument("--url", help="a PostgreSQL database to use (default: a private one, dropped at the end)")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    args = parser.parse_args(argv)
    if args.agents < args.campaigns or args.campaigns < 1:
        parser.error("--agents must be at least --campaigns, and --campaigns at least 1")
    private = None
    url = args.url
    if url is None:
        private = f"olive_bench_scale_out_{uuid.uuid4().hex[:8]}"
        with create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'CREATE DATABASE "{private}"'))
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{private}"
    layouts: list[tuple[str, dict[str, Any]]] = [
        ("3 nodes x 2 servers", {"nodes": 3, "servers": 2, "scale_out": True}),
        ("1 node x 1 server", {"nodes": 1, "servers": 1, "scale_out": True}),
    ]
    if args.classic:
        layouts.append(("1 node x 1 server (classic)", {"nodes": 1, "servers": 1, "scale_out": False}))
    result: dict[str, Any] = {
        "agents_per_server": args.agents, "agents": 2 * args.agents, "campaigns": 2 * args.campaigns,
        "seconds": args.seconds, "ring_s": args.ring, "talk_s": args.talk, "cpus": os.cpu_count(), "layouts": [],
    }
    try:
        migrate(url)
        with tempfile.TemporaryDirectory() as scratch:
            tmp = args.logs or Path(scratch)
            tmp.mkdir(parents=True, exist_ok=True)
            for name, layout in layouts:
                if args.only and args.only not in name:
                    continue
                print(f"running {name} ({2 * args.agents} agents, {2 * args.campaigns} campaigns, {args.seconds:g} s; "
                      f"load average {os.getloadavg()[0]:.1f}) ...", file=sys.stderr, flush=True)
                result["layouts"].append(run_layout(name, url, tmp, args, **layout))
    finally:
        if private is not None:
            with create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT").connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{private}" WITH (FORCE)'))
    print(json.dumps(result, indent=2))
    print(f"{2 * args.agents} agents in {2 * args.campaigns} campaigns, {args.seconds:g} s a layout, "
          f"customers ring {args.ring:g} s and talk {args.talk:g} s; {os.cpu_count()} CPUs", file=sys.stderr)
    print("\n".join(table(result)), file=sys.stderr)
    bad = [r["layout"] for r in result["layouts"] if r["originates_sent_twice"] or r["contacts_dialed_while_up"]]
    if bad:
        print(f"FAILED: a contact dialed twice at once, or an Originate sent twice, in {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
