"""The engine under load: N agents dialing against the simulated Asterisk.

    python benchmarks/engine_load.py --agents 1000 --seconds 60
    python benchmarks/engine_load.py --agents 200 --sim memory      # simulator in this process
    python benchmarks/engine_load.py --database postgresql+psycopg://postgres@127.0.0.1/test
    python benchmarks/engine_load.py --api-clients 50               # and 50 API clients meanwhile
    python benchmarks/engine_load.py --api-clients 50 --side-by-side  # without, then with, in one run
    python benchmarks/engine_load.py --api-clients 50 --side-by-side --engine-loop shared  # as before
    python benchmarks/engine_load.py --import-rows 300000 --contacts 8000 --side-by-side --seconds 120

One campaign (power dialing, 3 lines per idle agent; a fifth of the customers
answer after 3 s and talk 20-40 s, the others ring to the 30-s dial timeout;
at most 2.5 calls per agent and 100 per second), N agents who answer after
1 s, against ``olive sim`` running benchmarks/engine-load.toml in a separate
process (``--sim tcp``, the default) or in memory in this process
(``--sim memory``: its work then shares the event loop). Real time (scale 1).
With 1,000 agents that load keeps over 2,000 calls up (each idle agent has 3
calls ringing; the agents talking add theirs). The load of earlier rounds (2
lines, half answer, 15-s ring, 200 a second, no cap; it cannot pass 2,000 calls:
power keeps 2 lines per *idle* agent) is ``--lines-per-agent 2 --answer-share 0.5
--dial-timeout 15 --max-cps 200 --max-concurrent 3``. The dial guard is olive's
default (``ComplianceGuard``: DNC, calling hours, us-tsr); ``--guard allow-all``
for none.

Reported:
- tick p50/p99: each engine loop tick, wall time (database waits included);
  ``slowest_ticks``: the slowest 1 % with their parts (database steps in ms,
  dials placed, changes waiting when the tick began, statements run);
  ``db_statements_per_tick`` and ``_per_dial``: the statements the engine's
  database thread ran in ticks (an executemany counts one per row);
- loop ms per dial: the event loop's time inside ticks (tick time minus the
  awaited database work: it also counts what other tasks ran before the tick
  got the loop back), per placed dial; the tick's own CPU time (``tick_cpu``:
  the loop thread's CPU in the tick's own steps only), per dial and its p99;
  and the main thread's CPU time per placed dial (AMI reading and everything
  else on the loop included);
- ``ami_events_per_dial`` and ``loop_cpu_us_per_event``: the AMI events that
  reached the engine per placed dial (most of the loop's work), and the loop's
  CPU per event;
- event-loop lag p99: how late a 20-ms sleeper wakes;
- calls placed per minute; peak concurrent calls, and the least and median
  over the run's second half; RSS now and peak.

With ``--api-clients N`` the same run serves olive's HTTP API (uvicorn, in
this process, as ``olive serve``) and N clients in a separate process mix
reads (campaign, stats, calls, agents) and writes (DNC entries, contacts)
for the whole run; it reports /health p50/p99 and the count of 5xx responses.
The engine runs on a loop of its own in its own thread, as ``olive serve``
runs it (``--engine-loop shared``: on the loop that serves HTTP, as before);
both loops' lag is reported, and where the time goes: each thread's share of
a core, how late a plain thread of this process wakes (the GIL and the OS),
how late the /health prober's own sleeps wake (the OS alone).

With ``--import-rows N`` a CSV of N contacts is POSTed to the API (a new dial
list) from another process once dialing runs: its seconds, rows/s, and this
run's sampled RSS maximum. Give enough ``--contacts`` for the whole run (the
default, 12 per agent, runs out in about 4 minutes at 300 agents).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import heapq
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "engine-load.toml"
QUEUE = "olive-test"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class GcPauses:
    """The garbage collector's pauses while installed, by generation (any thread's)."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._began)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def report(self, mode: str) -> dict[str, Any]:
        full = sorted(self.pauses[2])
        young = self.pauses[0] + self.pauses[1]
        return {
            "mode": mode, "frozen_objects": gc.get_freeze_count(),
            "full_collections": len(full), "full_p50_ms": round(pct(full, 0.5) * 1000, 1) if full else None,
            "full_max_ms": round(full[-1] * 1000, 1) if full else None,
            "young_collections": len(young), "young_ms_total": round(sum(young) * 1000, 1),
        }


class Samples(array):  # type: ignore[type-arg]
    """Floats, 8 bytes each (a list of floats takes 32): a soak's samples stay small."""

    def __new__(cls) -> Samples:
        return super().__new__(cls, "d")

    def clear(self) -> None:
        del self[:]


class SlowestTicks:
    """The slowest ticks' parts (at most ``keep``) and every tick's database steps summed: a
    soak's hours of ticks would otherwise fill this process with their dicts, and its RSS
    would be the benchmark's."""

    def __init__(self, keep: int = 2000) -> None:
        self.keep = keep
        self.db_by_step: dict[str, float] = {}
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._n = 0

    def append(self, part: dict[str, Any]) -> None:
        for name, value in part.items():
            if name.startswith("_"):
                self.db_by_step[name] = self.db_by_step.get(name, 0.0) + value
        self._n += 1
        item = (part["ms"], self._n, part)
        if len(self._heap) < self.keep:
            heapq.heappush(self._heap, item)
        elif item[0] > self._heap[0][0]:
            heapq.heapreplace(self._heap, item)

    def clear(self) -> None:
        self.db_by_step.clear()
        self._heap.clear()

    def slowest(self, n: int) -> list[dict[str, Any]]:
        return [part for _, _, part in heapq.nlargest(n, self._heap)]


def rss_mb() -> tuple[float, float]:
    now = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return now, peak


#: Area codes of one time zone each (phonenumbers says so), east to west: the benchmark dials
#: the first whose local time lets a us-tsr campaign dial for the next hour (08:00-21:00),
#: so a run at any hour measures the same compliance guard (zone lookup, hours, DNC).
AREA_CODES = (
    ("202", "America/New_York"), ("787", "America/Puerto_Rico"), ("312", "America/Chicago"),
    ("303", "America/Denver"), ("415", "America/Los_Angeles"), ("808", "Pacific/Honolulu"),
)


def dialable_area_code(now: float, margin_s: float = 3600.0) -> str | None:
    """The first of AREA_CODES inside 08:00-21:00 local from ``now`` to ``now + margin_s``,
    or None (about 07:00-12:00 UTC no +1 zone with a single area code is)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    for code, zone in AREA_CODES:
        start, end = (datetime.fromtimestamp(t, ZoneInfo(zone)) for t in (now, now + margin_s))
        if start.date() == end.date() and 8 <= start.hour and (end.hour, end.minute) < (21, 0):
            return code
    return None


def customer_numbers(contacts: int, answer_share: float, area_code: str = "202") -> list[str]:
    """Contact numbers for engine-load.conf: an 8th digit 0-4 answers, 5-9 rings to the
    dial timeout. ``answer_share`` of them (in tenths) answer, spread evenly; each
    digit counts its own numbers, so all are distinct (10,000 per digit at most)."""
    answering = round(answer_share * 10)
    used = [0] * 10
    out = []
    for i in range(contacts):
        d = i % 10
        digit = d % 5 if d < answering else 5 + d % 5
        out.append(f"+1{area_code}55{digit}{used[digit]:04d}")
        used[digit] += 1
    if max(used) > 10_000:
        raise SystemExit(f"{contacts} contacts need more than 10,000 numbers of one digit")
    return out


def setup_store(url: str, agents: int, contacts: int, *, lines_per_agent: float = 2.0, dial_timeout_s: float = 15,
                answer_share: float = 0.5, max_cps: float = 200.0, max_concurrent: int = 0,
                area_code: str | None = "202") -> tuple[Any, str]:
    """The store of one running power campaign. ``area_code`` None: no +1 zone is inside calling
    hours now, so the campaign is profile 'none' with a 00:00-24:00 schedule (the guard still
    looks each number's zone up and checks the hours and DNC), dialing 202 numbers."""
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

    engine = make_engine(url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    spec = PlanSpec(
        channel_template="Local/{number}@bench-customers", dial_timeout_s=dial_timeout_s, dial_mode="power",
        lines_per_agent=lines_per_agent, max_concurrent=max_concurrent or max(50, agents * 3), max_calls_per_second=max_cps,
    )
    with transaction(sessions) as s:
        plan = Plan(name="bench plan", **spec.to_row())
        dial_list = DialList(name="bench list")
        members = [Agent(name=f"agent{1000 + i}", interface=f"Local/{1000 + i}@olive-test-agents", state="ready") for i in range(agents)]
        s.add_all([plan, dial_list, *members])
        s.flush()
        rows = [ContactRow(numbers=(number,)) for number in customer_numbers(contacts, answer_share, area_code or "202")]
        import_contacts(s, dial_list.id, rows)
        profile, schedule = ("us-tsr", None) if area_code else ("none", {"start": "00:00", "end": "24:00"})
        campaign = Campaign(name="bench", status="running", plan=plan, queue=QUEUE, compliance_profile=profile,
                            schedule=schedule, dial_lists=[dial_list], agents=members)
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    return sessions, campaign_id


def fresh_postgres(admin_url: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    name = f"olive_bench_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="test"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


class CpuTimed:
    """Await a coroutine, adding up the loop thread's CPU time in its own steps only (each
    ``send`` into it), not in what other tasks ran while it waited (the database thread,
    AMI reading): a tick's own cost on the loop."""

    def __init__(self, coro: Any) -> None:
        self.coro, self.cpu = coro, 0.0

    def __await__(self) -> Any:
        it = self.coro.__await__()
        value: Any = None
        error: BaseException | None = None
        while True:
            t = time.thread_time()
            try:
                step = it.send(value) if error is None else it.throw(error)
            except StopIteration as done:
                self.cpu += time.thread_time() - t
                return done.value
            self.cpu += time.thread_time() - t
            try:
                value, error = (yield step), None
            except BaseException as exc:  # cancellation: into the coroutine
                value, error = None, exc


class StackSampler:
    """A small sampling profiler for the event loop's thread (py-spy is not on this machine):
    every ``period`` s another thread reads the loop thread's stack. A sample whose top frame
    is the selector's wait is idle; the others count, for each function on the stack once
    (inclusive) and for the top function (own). Unlike cProfile it adds nothing per call, so
    the many small calls are not overcharged; a sample is taken when the sampler gets the GIL."""

    def __init__(self, thread_id: int, period: float = 0.003) -> None:
        import threading

        self.thread_id, self.period = thread_id, period
        self.busy = self.idle = 0
        self.inclusive: dict[str, int] = {}
        self.own: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            frame = sys._current_frames().get(self.thread_id)
            if frame is None:
                continue
            if frame.f_code.co_name in ("select", "poll") or frame.f_code.co_filename.endswith("selectors.py"):
                self.idle += 1
                continue
            self.busy += 1
            top = True
            seen: set[str] = set()
            while frame is not None:
                code = frame.f_code
                name = f"{Path(code.co_filename).name}:{code.co_name}"
                if top:
                    self.own[name] = self.own.get(name, 0) + 1
                    top = False
                if name not in seen:
                    seen.add(name)
                    self.inclusive[name] = self.inclusive.get(name, 0) + 1
                frame = frame.f_back

    def report(self, n: int = 40) -> dict[str, Any]:
        def top(counts: dict[str, int]) -> list[tuple[str, float]]:
            return [(k, round(100 * v / max(1, self.busy), 1)) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:n]]

        return {"busy_share": round(self.busy / max(1, self.busy + self.idle), 3), "samples": self.busy + self.idle,
                "inclusive_pct_of_busy": top(self.inclusive), "own_pct_of_busy": top(self.own)}


async def lag_monitor(samples: list[float], stop: asyncio.Event, period: float = 0.02) -> None:
    """How late a ``period`` sleeper wakes, on the running loop (``stop`` is only read: it may be
    another loop's event)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(period)
        samples.append(max(0.0, loop.time() - t - period))


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each thread of this process, by Python thread name
    (anyio's and the executors' workers summed under their prefix)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            with open(f"/proc/self/task/{thread.native_id}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = "main (API loop)" if thread is threading.main_thread() else thread.name.rstrip("_0123456789")
        name = "anyio worker (API)" if name.startswith("AnyIO worker") else name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def thread_lag(samples: list[float], stop: threading.Event, period: float = 0.02) -> None:
    """How late a plain thread's ``period`` sleep wakes: the GIL's wait plus the OS's, no event loop."""
    while not stop.is_set():
        t = time.perf_counter()
        time.sleep(period)
        samples.append(max(0.0, time.perf_counter() - t - period))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from olive import ami
    from olive.ami import ServerConfig
    from olive.cli._common import engine_pool, settle_heap
    from olive.clock import ScaledClock, SystemClock
    from olive.compliance import AllowAll, ComplianceGuard
    from olive.engine import MAX_DIALS_PER_TICK, Engine

    if args.switch_interval:  # how soon a thread waiting for the GIL gets it (CPython's default: 5 ms)
        sys.setswitchinterval(args.switch_interval)
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='olive-bench-')}/bench.db"
    if url.startswith("postgresql"):
        url = fresh_postgres(url)  # its own database on that server, dropped at the end
    contacts = args.contacts or args.agents * 12
    args.area_code = dialable_area_code(time.time(),
                                        margin_s=max(3600.0, args.seconds * args.scale + 600))
    if args.area_code is None:
        print("no +1 zone is inside 08:00-21:00 now: the campaign is profile 'none', 00:00-24:00", file=sys.stderr)
    sessions, campaign_id = setup_store(url, args.agents, contacts, lines_per_agent=args.lines_per_agent,
                                        dial_timeout_s=args.dial_timeout, answer_share=args.answer_share,
                                        max_cps=args.max_cps, max_concurrent=round(args.max_concurrent * args.agents),
                                        area_code=args.area_code)
    args.database_url = url
    clock: Any = SystemClock() if args.scale == 1 else ScaledClock(args.scale)
    sim_proc: subprocess.Popen[bytes] | None = None
    pbx: Any = None
    factory = None
    if args.sim == "memory":
        from olive.sim import SimulatedPBX, load_scenario

        pbx = SimulatedPBX(load_scenario(SCENARIO), clock=clock, username="olive", secret="bench")
        await pbx.start_in_memory()

        def factory(name: str, config: ServerConfig) -> ami.AMIClient:
            return ami.AMIClient("memory", 0, config.username, config.secret, name=name, connector=pbx.connect_in_memory)

        server = ServerConfig("memory", 0, "olive", "bench")
    else:
        port = args.port
        sim_proc = subprocess.Popen(  # a separate process, as the issue measured
            [sys.executable, "-c", "from olive.cli import main; main()", "sim", "--scenario", str(SCENARIO), "--port", str(port), "--secret", "bench", "--scale", str(args.scale)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        server = ServerConfig("127.0.0.1", port, "olive", "bench")
        for _ in range(600):  # until the simulator listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            break
    # The real dial guard (DNC, calling hours, abandon limits: us-tsr) unless told otherwise.
    guard = AllowAll() if args.guard == "allow-all" else ComplianceGuard()
    engine_sessions = engine_pool(sessions)
    lease = None
    if args.lease:  # as olive serve runs a classic node: the database's dialing lease, renewed every 5 s
        from olive.engine import DialingLease

        lease = DialingLease(engine_sessions, "bench")
    engine = Engine(engine_sessions, {"default": server}, clock=clock, guard=guard, tick_s=0.25, lease=lease,
                    client_factory=factory, max_dials_per_tick=args.max_dials_per_tick or MAX_DIALS_PER_TICK)
    ticks = Samples()  # wall time of each loop tick
    tick_cpu = Samples()  # the loop thread's CPU time in each tick's own steps
    loop_in_ticks = Samples()  # of which not waiting for the database thread
    # Each tick's parts, for the slowest ticks: database steps (name -> s), dials sent, refresh.
    tick_parts = SlowestTicks()
    db_wait = [0.0]
    in_tick = [False]
    parts: dict[str, Any] = {}
    real_in_db = engine._in_db

    # CPU time of the profiled thread by default: wall time would charge each function the
    # waits for the GIL and for a core (the machine's other work), as earlier profiles did.
    profile_timer = time.thread_time if args.profile_clock == "cpu" else time.perf_counter
    db_profile = cProfile.Profile(profile_timer) if args.profile else None

    async def timed_in_db(fn: Any, *a: Any) -> Any:
        t = time.perf_counter()
        try:
            if db_profile is not None:  # the database thread is one thread: one profile for it
                return await real_in_db(db_profile.runcall, fn, *a)
            return await real_in_db(fn, *a)
        finally:
            if in_tick[0]:
                spent = time.perf_counter() - t
                db_wait[0] += spent
                name = getattr(fn, "__name__", "db")
                parts[name] = round(parts.get(name, 0.0) + spent * 1000, 1)

    # The store runs beside the dials (on PostgreSQL in a second thread): its own wall time as
    # "_store_drained", and the part of it the tick still waited for after its dials as waiting.
    real_start_store = engine._start_store
    real_persist_drained = engine._persist_drained

    def timed_start_store(drained: Any, now: float) -> Any:
        t = time.perf_counter()
        stored = real_start_store(drained, now)
        if in_tick[0]:
            def done(_f: Any) -> None:
                parts["_store_drained"] = round((time.perf_counter() - t) * 1000, 1)
            stored.add_done_callback(done)
        return stored

    async def timed_persist_drained(drained: Any, now: float, stored: Any, **kw: Any) -> None:
        t = time.perf_counter()
        try:
            await real_persist_drained(drained, now, stored, **kw)
        finally:
            if in_tick[0]:
                spent = time.perf_counter() - t
                db_wait[0] += spent
                parts["store_waited"] = round(spent * 1000, 1)

    real_tick = engine.tick
    real_send_dials = engine.send_dials

    def counted_send_dials(dials: Any) -> None:
        t = time.perf_counter()
        real_send_dials(dials)
        parts["dials"] = parts.get("dials", 0) + len(dials)
        parts["send_dials_ms"] = round((time.perf_counter() - t) * 1000, 1)

    from sqlalchemy import Engine as SAEngine
    from sqlalchemy import event

    tick_statements = [0]  # statements the engine's database thread ran in ticks (an executemany: one a row)

    def count_statement(_c: Any, _cur: Any, _s: str, params: Any, _ctx: Any, executemany: bool) -> None:
        if in_tick[0] and threading.current_thread().name.startswith("olive-engine-db"):
            # insertmanyvalues' one multi-row statement passes flat parameters: it counts one
            many = executemany and isinstance(params, (list, tuple)) and isinstance(params[0], (list, tuple, dict))
            n = len(params) if many else 1
            tick_statements[0] += n
            parts["statements"] = parts.get("statements", 0) + n

    event.listen(SAEngine, "before_cursor_execute", count_statement)

    async def measured_tick() -> None:
        in_tick[0], db_wait[0] = True, 0.0
        parts.clear()
        parts["changes"] = sum(len(link.call_changes) + len(link.agent_changes) for link in engine.links.values())
        t = time.perf_counter()
        timed = CpuTimed(real_tick())
        try:
            await timed
        finally:
            in_tick[0] = False
            ticks.append(time.perf_counter() - t)
            loop_in_ticks.append(ticks[-1] - db_wait[0])
            tick_cpu.append(timed.cpu)
            tick_parts.append({"ms": round(ticks[-1] * 1000, 1), "loop_ms": round(loop_in_ticks[-1] * 1000, 1),
                               "cpu_ms": round(timed.cpu * 1000, 1), **parts})

    engine._in_db = timed_in_db  # type: ignore[method-assign]
    engine._start_store = timed_start_store  # type: ignore[method-assign]
    engine._persist_drained = timed_persist_drained  # type: ignore[method-assign]
    engine.tick = measured_tick  # type: ignore[method-assign]
    engine.send_dials = counted_send_dials  # type: ignore[method-assign]
    from olive.api._engine_loop import EngineLoop

    # As olive serve runs it: the engine on a loop of its own in its own thread (--engine-loop
    # thread), or on the loop that also serves HTTP (shared, as before).
    host = EngineLoop(engine, in_thread=args.engine_loop == "thread")
    api_server = client_proc = None
    serve_api = bool(args.api_clients or args.import_rows)
    if serve_api:
        api_server, client_proc = await start_api(args, sessions, engine, campaign_id, host)
    lag = Samples()  # the engine's loop
    api_lag = Samples()  # the loop that serves HTTP, when it is another
    stop = asyncio.Event()
    await host.start()
    monitor = asyncio.ensure_future(host.call(lag_monitor(lag, stop)))
    api_monitor = asyncio.create_task(lag_monitor(api_lag, stop)) if args.engine_loop == "thread" else None
    link = engine.links["default"]
    for _ in range(600):
        if link.ready:
            break
        await asyncio.sleep(0.05)
    events = [0]  # AMI events that reached the link (what the loop frames, parses and follows)
    cpu_parts: dict[str, float] = {}
    reads = [0]  # with --cpu-parts: socket reads that brought AMI bytes
    if args.cpu_parts:  # the loop thread's CPU in each part of the AMI path (adds ~2 us an event)
        cpu_parts.update(dict.fromkeys(("framing", "events", "originates"), 0.0))

        def cpu_timed(part: str, fn: Any) -> Any:
            def timed(*a: Any, **kw: Any) -> Any:
                t = time.thread_time()
                try:
                    return fn(*a, **kw)
                finally:
                    cpu_parts[part] += time.thread_time() - t
            return timed

        codec_cls = type(link.client._codec) if link.client._codec is not None else None
        if codec_cls is not None:
            codec = link.client._codec
            real_receive = cpu_timed("framing", codec.receive_data)

            def counted_receive(data: bytes) -> None:
                reads[0] += 1
                real_receive(data)

            codec.receive_data = counted_receive  # type: ignore[method-assign]
            codec.next_message = cpu_timed("framing", codec.next_message)  # type: ignore[method-assign]
        link.client._handlers = [cpu_timed("events", h) if h == link._on_event else h for h in link.client._handlers]
        real_originate = engine._originate

        async def timed_originate(*a: Any) -> None:
            timed = CpuTimed(real_originate(*a))
            await timed
            cpu_parts["originates"] += timed.cpu

        engine._originate = timed_originate  # type: ignore[method-assign]

    def count_event(event: Any) -> None:
        events[0] += 1

    link.client.on_event(count_event)
    started, cpu0 = time.perf_counter(), await host.read(time.thread_time)  # the engine's thread
    loop_profile = cProfile.Profile(profile_timer) if args.profile else None
    if loop_profile is not None:
        await host.read(loop_profile.enable)  # cProfile profiles the thread that enables it
    sampler = StackSampler(await host.read(threading.get_ident)) if args.sample else None
    if sampler is not None:
        sampler.start()
    if args.gc == "freeze":  # as olive serve does once it listens (settle_heap)
        settle_heap()
    gc_pauses = GcPauses().__enter__()
    for measured in (ticks, loop_in_ticks, tick_cpu, tick_parts, lag):
        await host.read(measured.clear)
    api_lag.clear()
    gil_lag = Samples()
    gil_stop = threading.Event()
    gil_thread = threading.Thread(target=thread_lag, args=(gil_lag, gil_stop), daemon=True)
    gil_thread.start()
    cpu_before = thread_cpu()
    proc_cpu0 = time.process_time()
    importer = start_import(args, campaign_id) if args.import_rows else None
    concurrent_samples: list[tuple[float, int]] = []  # (seconds into the run, calls in progress)
    dials0 = engine.status(campaign_id).counters.dials if engine.status(campaign_id).counters else 0
    concurrent = 0
    rss_samples: list[tuple[float, float]] = []  # (simulated hours, RSS MB)
    first_snapshot = None
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(1)
    sim_start, next_sample = clock.now(), 0.0
    rss_max = 0.0  # VmRSS sampled every 0.5 s during this run (ru_maxrss is the process's, both runs)
    while time.perf_counter() - started < args.seconds:
        await asyncio.sleep(0.5)
        concurrent = max(concurrent, len(link.tracker))
        concurrent_samples.append((time.perf_counter() - started, len(link.tracker)))
        rss_max = max(rss_max, rss_mb()[0])
        if args.rss_every and time.perf_counter() - started >= next_sample:
            next_sample += args.rss_every
            rss_samples.append((round((clock.now() - sim_start) / 3600, 3), round(rss_mb()[0], 1)))
            print(f"rss {rss_samples[-1]}", file=sys.stderr, flush=True)
            if args.tracemalloc and first_snapshot is None and len(rss_samples) == 2:
                first_snapshot = tracemalloc.take_snapshot()
    if first_snapshot is not None:  # what grew between the second RSS sample and the end
        grown = tracemalloc.take_snapshot().compare_to(first_snapshot, "lineno")
        for stat in grown[:20]:
            print(f"grew {stat}", file=sys.stderr)
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    cpu_after = thread_cpu()
    proc_cpu = time.process_time() - proc_cpu0
    # Share of one core each thread used during the run (threads that ended meanwhile are missed).
    threads_cpu = {k: round((v - cpu_before.get(k, 0.0)) / elapsed * 100, 1) for k, v in sorted(cpu_after.items())}
    cpu = await host.read(time.thread_time) - cpu0
    if sampler is not None:
        sampler.stop()
        print(json.dumps(sampler.report(), indent=1), file=sys.stderr)
    n_events = events[0]
    if cpu_parts:
        cpu_parts["ticks"] = sum(tick_cpu)
        cpu_parts["other"] = cpu - sum(cpu_parts.values())
    if loop_profile is not None and db_profile is not None:
        await host.read(loop_profile.disable)
        write_profiles(args.profile, loop_profile, db_profile)
    counters = engine.status(campaign_id).counters
    dials = (counters.dials if counters else 0) - dials0
    n_ticks = len(ticks)
    tick_loop_s = sum(loop_in_ticks[:n_ticks])
    tick_times = ticks[:n_ticks]
    second_half = [n for at, n in concurrent_samples if at >= elapsed / 2]
    db_by_step = dict(tick_parts.db_by_step)  # the ticks' database steps over the run, ms
    slowest = tick_parts.slowest(max(3, n_ticks // 100 + 1))
    if args.ticks_out:
        with open(args.ticks_out, "w") as out:
            out.writelines(json.dumps(part) + "\n" for part in tick_parts.slowest(tick_parts.keep))
    api = None
    if client_proc is not None:
        # Waited for in a thread: a blocking wait here would stall the loop under test.
        out, _ = await asyncio.to_thread(client_proc.communicate, None, args.seconds + 60)
        api = json.loads(out.decode() or "{}")
    imported = None
    if importer is not None:  # it may outlast the run: the import's figures are its own
        out, _ = await asyncio.to_thread(importer.communicate, None, 3600)
        imported = json.loads(out.decode() or "{}")
    stop.set()
    gil_stop.set()
    gil_thread.join()
    await monitor
    if api_monitor is not None:
        await api_monitor
    gc_pauses.__exit__()
    now_mb, peak_mb = rss_mb()
    await host.stop(hangup=False)
    if api_server is not None:
        api_server.should_exit = True
        await asyncio.sleep(0.5)
        api_sessions = api_server.config.app.state.olive.sessions
        api_sessions.kw["bind"].dispose()
    if pbx is not None:
        await pbx.stop()
    if sim_proc is not None:
        sim_proc.terminate()
        try:
            sim_proc.wait(10)
        except subprocess.TimeoutExpired:  # still hanging up its calls: the figures are in, end it
            sim_proc.kill()
            sim_proc.wait(10)
    if url.startswith("postgresql"):
        drop_postgres(url)
    return {
        "agents": args.agents, "sim": args.sim, "database": url.split(":")[0], "seconds": round(elapsed, 1),
        "api_clients": args.api_clients, "api_threads": args.api_threads, "max_in_flight": args.max_in_flight,
        "dials": dials, "calls_per_min": round(dials / elapsed * 60, 1), "peak_concurrent_calls": concurrent,
        "concurrent_calls_second_half_min_p50": [min(second_half, default=0), round(pct(second_half, 0.5))] if second_half else None,
        "guard": args.guard, "area_code": args.area_code, "lease": args.lease, "switch_interval": sys.getswitchinterval(), "lines_per_agent": args.lines_per_agent, "dial_timeout_s": args.dial_timeout,
        "answer_share": args.answer_share, "max_cps": args.max_cps, "max_concurrent_per_agent": args.max_concurrent,
        "ticks": n_ticks, "failed_ticks": engine.health.tick_failures, "last_tick_error": engine.health.last_tick_error,
        "tick_p50_ms": round(pct(tick_times, 0.5) * 1000, 1),
        "tick_p99_ms": round(pct(tick_times, 0.99) * 1000, 1),
        "tick_loop_p99_ms": round(pct(loop_in_ticks[:n_ticks], 0.99) * 1000, 1),
        "tick_loop_ms_per_dial": round(tick_loop_s * 1000 / dials, 3) if dials else None,
        "loop_cpu_ms_per_dial": round(cpu * 1000 / dials, 3) if dials else None,
        "tick_cpu_p50_ms": round(pct(tick_cpu[:n_ticks], 0.5) * 1000, 1),
        "tick_cpu_p99_ms": round(pct(tick_cpu[:n_ticks], 0.99) * 1000, 1),
        "db_ms_per_dial_by_step": {k: round(v / dials, 2) for k, v in sorted(db_by_step.items())} if dials else None,
        "db_statements_per_tick": round(tick_statements[0] / n_ticks, 1) if n_ticks else None,
        "db_statements_per_dial": round(tick_statements[0] / dials, 2) if dials else None,
        "tick_cpu_ms_per_dial": round(sum(tick_cpu[:n_ticks]) * 1000 / dials, 3) if dials else None,
        "loop_cpu_share": round(cpu / elapsed, 3), "ami_events": n_events,
        "ami_events_per_dial": round(n_events / dials, 1) if dials else None,
        "loop_cpu_ms_per_dial_by_part": {k: round(v * 1000 / dials, 3) for k, v in cpu_parts.items()} if dials else None,
        "ami_events_per_read": round(n_events / reads[0], 1) if reads[0] else None,
        "loop_cpu_us_per_event": round(cpu * 1e6 / n_events, 1) if n_events else None,
        "engine_loop": args.engine_loop,
        "loop_lag_p99_ms": round(pct(lag, 0.99) * 1000, 1), "loop_lag_max_ms": round(max(lag, default=0) * 1000, 1),
        "api_loop_lag_p99_ms": round(pct(api_lag, 0.99) * 1000, 1) if api_lag else None,
        "thread_lag_p99_ms": round(pct(gil_lag, 0.99) * 1000, 1),
        "process_cpu_pct": round(proc_cpu / elapsed * 100, 1), "threads_cpu_pct": threads_cpu,
        "import": imported, "gc": gc_pauses.report(args.gc),
        "rss_mb": round(now_mb), "rss_peak_mb": round(peak_mb), "rss_sampled_max_mb": round(rss_max), "api": api,
        "scale": args.scale, "simulated_hours": round((clock.now() - sim_start) / 3600, 3), "rss_samples": rss_samples,
        "event_ticks": engine.event_ticks,
        "slowest_ticks": slowest,
        "last_decision": engine.status(campaign_id).last_decision,
    }


def write_profiles(prefix: str, loop_profile: cProfile.Profile, db_profile: cProfile.Profile) -> None:
    """``PREFIX-loop.prof`` and ``PREFIX-db.prof`` (pstats), and their top functions on stderr."""
    for name, prof in (("loop", loop_profile), ("db", db_profile)):
        prof.dump_stats(f"{prefix}-{name}.prof")
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(f"== {name}: by own time ==", out.getvalue(), sep="\n", file=sys.stderr)


async def start_api(args: argparse.Namespace, sessions: Any, engine: Any, campaign_id: str, host: Any) -> tuple[Any, Any]:
    import uvicorn

    from olive.api import create_app, make_api_sessions

    key = make_key(sessions)
    api_sessions = make_api_sessions(args.database_url)  # the API's own pool, as `olive serve` gives it
    options = {k: v for k, v in (("api_threads", args.api_threads), ("max_in_flight", args.max_in_flight)) if v}
    app = create_app(api_sessions, engine, manage_engine=False, engine_loop=host, **options)
    config = uvicorn.Config(app, host="127.0.0.1", port=args.api_port, log_level="warning", lifespan="off",
                            http=args.http)
    server = uvicorn.Server(config)
    server.task = asyncio.create_task(server.serve())  # type: ignore[attr-defined]
    while not server.started:
        await asyncio.sleep(0.05)
    args.api_key = key
    if not args.api_clients:
        return server, None
    client = subprocess.Popen(
        [sys.executable, __file__, "--client", f"http://127.0.0.1:{args.api_port}", "--client-key", key,
         "--client-campaign", campaign_id,
         "--api-clients", str(args.api_clients), "--seconds", str(args.seconds)],
        stdout=subprocess.PIPE,
    )
    return server, client


def start_import(args: argparse.Namespace, campaign_id: str) -> subprocess.Popen[bytes]:
    """A CSV of ``--import-rows`` contacts POSTed to the API, from a process of its own, into a new
    dial list (not the campaign's: the dialing's own list stays the same size)."""
    return subprocess.Popen(
        [sys.executable, __file__, "--import-to", f"http://127.0.0.1:{args.api_port}", "--client-key", args.api_key,
         "--import-rows", str(args.import_rows)],
        stdout=subprocess.PIPE,
    )


def import_csv(base: str, key: str, rows: int) -> dict[str, Any]:
    """Create a dial list, write ``rows`` contacts as CSV, POST them; the import's figures."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    with tempfile.TemporaryDirectory(prefix="olive-bench-import-") as directory:
        path = Path(directory) / "contacts.csv"
        with path.open("w", encoding="utf-8") as out:
            out.write("phone,name,external_ref,account\n")
            for i in range(rows):
                out.write(f"+1202{5550000 + i % 10000:07d},Contact {i},R-{i:07d},{i % 977}\n")
        body = path.read_bytes()
    with httpx.Client(base_url=base, headers=headers, timeout=3600) as client:
        created = client.post("/dial-lists", json={"name": f"bench import {os.getpid()}"})
        created.raise_for_status()
        t = time.perf_counter()
        r = client.post(f"/dial-lists/{created.json()['id']}/contacts/import", content=body,
                        headers={"Content-Type": "text/csv"})
        took = time.perf_counter() - t
    return {"rows": rows, "csv_mb": round(len(body) / 1e6, 1), "status": r.status_code,
            "imported": r.json().get("imported") if r.status_code == 201 else None,
            "seconds": round(took, 1), "rows_per_s": round(rows / took) if took else None}


def make_key(sessions: Any) -> str:
    from olive.store import create_api_key, transaction

    with transaction(sessions) as s:
        _, secret = create_api_key(s, "bench", role="admin")
    return str(secret)


async def clients(base: str, key: str, campaign_id: str, n: int, seconds: float) -> dict[str, Any]:
    """N API clients: 3 reads for each write, for ``seconds``; /health timed apart."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    statuses: dict[int, int] = {}
    health: list[float] = []
    end = time.perf_counter() + seconds

    async def one(i: int, client: httpx.AsyncClient) -> None:
        j = 0
        while time.perf_counter() < end:
            j += 1
            kind = j % 4
            try:
                if kind == 0:
                    r = await client.post("/dnc", json={"number": f"+1303555{i:02d}{j % 100:02d}"})
                elif kind == 1:
                    r = await client.get(f"/campaigns/{campaign_id}/stats")
                elif kind == 2:
                    r = await client.get("/calls", params={"campaign_id": campaign_id, "limit": 50})
                else:
                    r = await client.get(f"/campaigns/{campaign_id}")
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 503 and r.headers.get("Retry-After", "").isdigit():
                    await asyncio.sleep(int(r.headers["Retry-After"]))  # as a well-behaved client does
            except httpx.HTTPError:
                statuses[0] = statuses.get(0, 0) + 1

    # /health is timed from a process of its own: timed from this one, its figure would
    # include this process's own event loop, busy with the N clients.
    prober = subprocess.Popen(
        [sys.executable, __file__, "--probe", base, "--seconds", str(seconds)], stdout=subprocess.PIPE
    )
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        await asyncio.gather(*(one(i, client) for i in range(n)))
    out, _ = await asyncio.to_thread(prober.communicate, None, seconds + 30)
    probed = json.loads(out.decode() or "{}")
    health.extend(probed.get("health", []))
    os_lag: list[float] = probed.get("os_lag", [])
    return {
        "requests": sum(statuses.values()), "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "5xx": sum(v for k, v in statuses.items() if k >= 500),
        "5xx_not_503": sum(v for k, v in statuses.items() if k >= 500 and k != 503),
        "health_p50_ms": round(pct(health, 0.5) * 1000, 1),
        "health_p99_ms": round(pct(health, 0.99) * 1000, 1), "health_max_ms": round(max(health, default=0) * 1000, 1),
        "prober_sleep_late_p99_ms": round(pct(os_lag, 0.99) * 1000, 1),
    }


def probe(base: str, seconds: float) -> dict[str, list[float]]:
    """GET /health every 100 ms on one kept-alive connection; each answer's wall time, and how late
    this process's own 100-ms sleeps woke (the machine's scheduling delay, nothing of olive's)."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(base)
    times: list[float] = []
    late: list[float] = []
    end = time.perf_counter() + seconds
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port or 80, timeout=60)
    while time.perf_counter() < end:
        t = time.perf_counter()
        try:
            connection.request("GET", "/health")
            connection.getresponse().read()
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port or 80, timeout=60)
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        time.sleep(0.1)
        late.append(max(0.0, time.perf_counter() - t - 0.1))
    return {"health": times, "os_lag": late}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=0, help="default: 12 per agent")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sim", choices=("tcp", "memory"), default="tcp")
    parser.add_argument("--lines-per-agent", type=float, default=3.0,
                        help="power dialing's lines per idle agent (3: with the defaults below, over 2,000 calls at 1,000 agents)")
    parser.add_argument("--dial-timeout", type=float, default=30.0, help="seconds an unanswered customer rings")
    parser.add_argument("--answer-share", type=float, default=0.2, help="share of customers who answer (in tenths)")
    parser.add_argument("--max-cps", type=float, default=100.0, help="the plan's calls per second cap")
    parser.add_argument("--max-concurrent", type=float, default=2.5, metavar="PER_AGENT",
                        help="the plan's concurrent-call cap, per agent (2.5: trims the start's overshoot)")
    parser.add_argument("--guard", choices=("compliance", "allow-all"), default="compliance",
                        help="the dial guard: olive's default (DNC, calling hours, us-tsr) or none")
    parser.add_argument("--port", type=int, default=15038)
    parser.add_argument("--database", default=os.environ.get("OLIVE_BENCH_DATABASE"))
    parser.add_argument("--api-clients", type=int, default=0)
    parser.add_argument("--api-port", type=int, default=18080)
    parser.add_argument("--api-threads", type=int, default=None,
                        help="threads for the API's sync endpoints (default: olive's; 40 was Starlette's)")
    parser.add_argument("--max-in-flight", type=int, default=None,
                        help="API requests in flight before 503 (default: olive's; a large number: never)")
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                        help="uvicorn's HTTP parser (auto: httptools when installed)")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval in seconds for the engine's process (Python's default: 0.005)")
    parser.add_argument("--lease", action="store_true",
                        help="hold the database's dialing lease, as olive serve's classic node does")
    parser.add_argument("--max-dials-per-tick", type=int, default=None,
                        help="the engine's cap on the calls one tick places (default: the engine's, MAX_DIALS_PER_TICK)")
    parser.add_argument("--gc", choices=("freeze", "default"), default="freeze",
                        help="freeze what start-up built before measuring, as olive serve does (default), or not")
    parser.add_argument("--engine-loop", choices=("thread", "shared"), default="thread",
                        help="the engine on a loop of its own in its own thread (olive serve), or on the loop that "
                        "serves HTTP (before)")
    parser.add_argument("--import-rows", type=int, default=0,
                        help="POST a CSV of this many contacts to the API (a new dial list) once dialing runs; "
                        "with --side-by-side: without, then with the import")
    parser.add_argument("--import-to", help=argparse.SUPPRESS)
    parser.add_argument("--side-by-side", action="store_true",
                        help="with --api-clients: first the same run without API load, then with it; report both")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="clock scale for the engine and the simulator (a soak: e.g. --sim memory --scale 20)")
    parser.add_argument("--rss-every", type=float, default=0.0, metavar="S",
                        help="sample RSS every S wall seconds (rss_samples: simulated hours, MB)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="with --rss-every: print what grew between the second RSS sample and the end")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="cProfile the event loop's thread and the database thread: PREFIX-loop.prof, PREFIX-db.prof")
    parser.add_argument("--cpu-parts", action="store_true",
                        help="split the loop's CPU per dial: framing, AMI events, Originates, ticks, other")
    parser.add_argument("--sample", action="store_true",
                        help="sample the event loop thread's stack every 3 ms; the busiest functions on stderr")
    parser.add_argument("--profile-clock", choices=("cpu", "wall"), default="cpu",
                        help="what --profile counts: each thread's CPU time (default) or wall time")
    parser.add_argument("--ticks-out", metavar="FILE",
                        help="write every kept tick's parts (the slowest 2,000) to FILE, one JSON object a line")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--client-key", help=argparse.SUPPRESS)
    parser.add_argument("--client-campaign", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        result = asyncio.run(clients(args.client, args.client_key, args.client_campaign, args.api_clients, args.seconds))
        print(json.dumps(result))
        return
    if args.probe:
        print(json.dumps(probe(args.probe, args.seconds)))
        return
    if args.import_to:
        print(json.dumps(import_csv(args.import_to, args.client_key, args.import_rows)))
        return
    if args.side_by_side and (args.api_clients or args.import_rows):
        quiet = asyncio.run(run(argparse.Namespace(**{**vars(args), "api_clients": 0, "import_rows": 0})))
        loaded = asyncio.run(run(args))
        change = (loaded["calls_per_min"] / quiet["calls_per_min"] - 1) * 100 if quiet["calls_per_min"] else None
        print(json.dumps({"without_api_load": quiet, "with_api_load": loaded,  # API load: clients and/or an import
                          "calls_per_min_change_pct": None if change is None else round(change, 1)}, indent=1))
        return
    print(json.dumps(asyncio.run(run(args)), indent=1))


if __name__ == "__main__":

    main()
