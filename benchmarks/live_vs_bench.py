"""Live equals bench: the real engine against the simulated Asterisk, next to `olive bench`, one campaign.

    python benchmarks/live_vs_bench.py                       # 20 agents, answer rate 0.3, 1 hour at x20
    python benchmarks/live_vs_bench.py --agents 20 --minutes 60 --scale 20 --seed 1 --json

One campaign is run twice, with the same customers and the same team:

- **bench**: `olive bench`'s virtual-time simulation (``olive.bench``),
  the pacer fed directly, no I/O;
- **live**: olive's engine (AMI client, call tracking, the store on SQLite, the
  same predictive pacer) dialing olive's simulated Asterisk over a real AMI
  socket, the dialplan and queue olive ships, on one clock running ``--scale``
  times faster than real time.

The customers are the same model in both: a live answer with the answer rate
after a lognormal ring (mean 9 s, cv 0.5), otherwise busy after 4 s (a quarter
of the rest) or ringing out at the 25 s dial timeout; a lognormal talk of
120 s (cv 1); a 15 s wrap-up; abandoned when no agent takes the call within
2 s. No warm-up: abandons and occupancy count from the first dial, a one-hour
shift. The random draws differ (the simulator has its own streams), so the
two runs are two samples of the same campaign, not the same path; the spread
between bench seeds is printed next to them for scale.

What differs, and is the point of running it: the engine sees the campaign
through AMI events and the store, decides on its tick (every 0.5 s of
simulated time) and after events, and every action and event crosses a socket
and an event loop; agents' phones take 0.3-0.8 s to pick up (auto-answer).
docs/pacing.md ("Live equals bench") has the figures and the gap.

Run time: about ``minutes * 60 / scale`` seconds of wall time for the live run
on an idle core, plus a few seconds for the bench seeds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ANSWER_DELAY = {"mean": 9.0, "cv": 0.5}
TALK = {"mean": 120.0, "cv": 1.0}
WRAPUP_S = 15
DIAL_TIMEOUT_S = 25
FAST_FAIL_SHARE, FAST_FAIL_S = 0.25, 4.0
CONNECT_LIMIT_S = 2


def bench_cell(agents: int, answer_rate: float, minutes: float) -> Any:
    from olive.bench import parse_scenario

    scenario = parse_scenario(
        {
            "defaults": {
                "hours": minutes / 60.0,
                "warmup_minutes": 0,
                "seeds": [1],
                "abandon_target": 0.03,
                "patience_s": float(CONNECT_LIMIT_S),
                "talk": {"dist": "lognormal", "mean_s": TALK["mean"], "cv": TALK["cv"]},
                "wrapup": {"dist": "fixed", "value_s": float(WRAPUP_S)},
                "answer_delay": {"dist": "lognormal", "mean_s": ANSWER_DELAY["mean"], "cv": ANSWER_DELAY["cv"]},
                "no_answer": {
                    "fast_fail_share": FAST_FAIL_SHARE,
                    "fast_fail_s": FAST_FAIL_S,
                    "ring_timeout_s": float(DIAL_TIMEOUT_S),
                },
            },
            "cell": [{"name": f"live-a{agents}-p{answer_rate:g}", "agents": agents, "answer_rate": answer_rate}],
        },
        source="live_vs_bench",
    )
    return scenario.cells[0]


def run_bench(agents: int, answer_rate: float, minutes: float, seeds: list[int], policy: str) -> dict[str, Any]:
    from olive.bench import build_pacer, simulate

    cell = bench_cell(agents, answer_rate, minutes)
    occupancy, rates, live, abandons = [], [], 0, 0
    started = time.monotonic()
    for seed in seeds:
        metrics, _ = simulate(cell, build_pacer(policy, cell), seed)
        occupancy.append(metrics.busy_s / metrics.agent_s)
        rates.append(metrics.abandons / metrics.live_answers if metrics.live_answers else 0.0)
        live += metrics.live_answers
        abandons += metrics.abandons
    return {
        "occupancy": statistics.fmean(occupancy),
        "occupancy_sd_between_seeds": statistics.stdev(occupancy) if len(occupancy) > 1 else 0.0,
        "abandon_rate": abandons / live if live else 0.0,
        "abandon_rate_sd_between_seeds": statistics.stdev(rates) if len(rates) > 1 else 0.0,
        "live_answers_per_seed": live / len(seeds),
        "seeds": seeds,
        "wall_s": round(time.monotonic() - started, 1),
    }


def sim_scenario(answer_rate: float, seed: int) -> Any:
    from olive.sim._scenario import parse_scenario

    non_answer = 1.0 - answer_rate
    return parse_scenario(
        {
            "name": "live-vs-bench",
            "seed": seed,
            "scale": 1,
            "pbx": {"dialplan": ["@olive"], "queues": ["@olive"], "sounds": {"default": 4.0}, "vary_order": True},
            "queues": {
                "olive-demo": {  # as the demo's, with the cell's wrap-up
                    "strategy": "rrmemory", "timeout": 15, "retry": 1, "wrapuptime": WRAPUP_S,
                    "joinempty": "yes", "leavewhenempty": "no", "ringinuse": "no", "autopause": "no",
                    "timeoutpriority": "app", "setinterfacevar": "yes", "setqueuevar": "yes",
                    "setqueueentryvar": "yes",
                }
            },
            "trunks": {"trunk": {"context": "from-trunk", "population": "bench"}},
            "population": {
                "bench": {
                    "answer": answer_rate,
                    "busy": non_answer * FAST_FAIL_SHARE,
                    "answer_delay": {"dist": "lognormal", **ANSWER_DELAY},
                    "fail_delay": FAST_FAIL_S,
                    "talk": {"dist": "lognormal", **TALK},
                    "patience": 600.0,  # the connect limit decides, not the customer
                }
            },
            "agents": {"answer_delay": [0.3, 0.8], "no_answer": 0.0},
        },
        Path(__file__).parent,
        source="live_vs_bench",
    )


def install_campaign(session: Any, agents: int, contacts: int, mode: str, seed: int) -> str:
    from olive.demo import QUEUE, demo_numbers
    from olive.specs import PlanSpec
    from olive.store import Agent, Campaign, ContactRow, DialList, Plan, import_contacts

    never = {"max_attempts": 0, "delay_s": 0}
    spec = PlanSpec.model_validate({
        "dial_mode": mode,
        "dial_timeout_s": DIAL_TIMEOUT_S,
        "caller_id": '"olive bench" <2125550100>',
        "channel_template": "PJSIP/{number}@trunk",
        "max_concurrent": 1000,
        "wrapup_s": WRAPUP_S,
        "connect_limit_s": CONNECT_LIMIT_S,
        "drop_action": "hangup",
        "retry_rules": {k: never for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED", "INVALID_NUMBER", "CANCELLED")},
    })
    plan = Plan(name="live vs bench", **spec.to_row())
    dial_list = DialList(name="live vs bench", default_region="US")
    team = [Agent(name=f"agent{100 + i}", interface=f"PJSIP/{100 + i}", state="ready") for i in range(1, agents + 1)]
    session.add_all([plan, dial_list, *team])
    session.flush()
    rows = [ContactRow(numbers=(number,), name=f"Contact {i + 1}") for i, number in enumerate(demo_numbers(contacts, seed))]
    import_contacts(session, dial_list.id, rows)
    campaign = Campaign(
        name="live vs bench", status="running", plan=plan, queue=QUEUE, compliance_profile="us-tsr",
        dial_lists=[dial_list], agents=team,
    )
    session.add(campaign)
    session.flush()
    return campaign.id


async def run_live(agents: int, answer_rate: float, minutes: float, scale: float, seed: int, mode: str) -> dict[str, Any]:
    from olive.ami import ServerConfig
    from olive.clock import ScaledClock
    from olive.compliance import ComplianceGuard
    from olive.demo import demo_start
    from olive.engine import Engine, campaign_report
    from olive.sim import SimulatedPBX
    from olive.store import CampaignRepository, make_engine, make_sessionmaker, migrate, transaction

    # Enough contacts that the list never runs dry: about 1.5 dials per agent-minute at p = 0.3.
    contacts = int(agents * minutes * 2.0 / max(answer_rate, 0.05) + 200)
    with tempfile.TemporaryDirectory() as tmp:
        store = make_engine(f"sqlite:///{tmp}/live.db")
        migrate(store)
        sessions = make_sessionmaker(store)
        with transaction(sessions) as session:
            campaign_id = install_campaign(session, agents, contacts, mode, seed)
        clock = ScaledClock(scale, start=demo_start())
        pbx = SimulatedPBX(sim_scenario(answer_rate, seed), clock=clock, secret="bench", seed=seed)
        port = await pbx.start()
        engine = Engine(sessions, {"default": ServerConfig("127.0.0.1", port, "olive", "bench")}, clock=clock, guard=ComplianceGuard())
        started_wall = time.monotonic()
        await engine.start()
        start = clock.now()
        try:
            while clock.now() - start < minutes * 60.0:
                await asyncio.sleep(0.5)
            with transaction(sessions) as session:
                report = campaign_report(session, campaign_id, clock.now(), engine)
                campaign = CampaignRepository(session).get(campaign_id)
                assert campaign is not None
                campaign.status = "paused"
        finally:
            await engine.stop()
            await pbx.stop()
            store.dispose()
    wall = time.monotonic() - started_wall
    abandon = report.abandon["campaign"]
    return {
        "occupancy": report.occupancy,
        "abandon_rate": abandon["rate"],
        "live_answers": abandon["live_answers"],
        "abandons": abandon["abandoned"],
        "calls": report.calls,
        "agent_hours": report.agent_hours,
        "scale": scale,
        "wall_s": round(wall, 1),
        "simulated_minutes_per_wall_minute": round(minutes / (wall / 60.0), 1),
        # What the engine's pacer learned: set against the model above, it shows where a gap comes from.
        "pacer_estimates": {k: round(float(v), 3) for k, v in report.pacer.get("estimates", {}).items()},
        "outcomes": report.outcomes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--answer-rate", type=float, default=0.3)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--scale", type=float, default=20.0, help="simulated seconds per wall second (live run)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bench-seeds", default="1,2,3,4,5")
    parser.add_argument("--mode", default="predictive", choices=("predictive", "progressive"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.bench_seeds.split(",")]
    bench = run_bench(args.agents, args.answer_rate, args.minutes, seeds, args.mode)
    live = asyncio.run(run_live(args.agents, args.answer_rate, args.minutes, args.scale, args.seed, args.mode))
    result = {
        "agents": args.agents, "answer_rate": args.answer_rate, "minutes": args.minutes, "mode": args.mode,
        "bench": bench, "live": live,
        "occupancy_gap_points": None if live["occupancy"] is None else round(100 * (live["occupancy"] - bench["occupancy"]), 2),
        "abandon_gap_points": round(100 * (live["abandon_rate"] - bench["abandon_rate"]), 2),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    occ = live["occupancy"]
    print(f"{args.mode}, {args.agents} agents, answer rate {args.answer_rate:g}, {args.minutes:g} min from the first dial")
    print(f"{'':8} {'occupancy %':>12} {'abandons %':>11} {'live answers':>13}")
    print(f"{'bench':8} {100 * bench['occupancy']:12.1f} {100 * bench['abandon_rate']:11.2f} {bench['live_answers_per_seed']:13.0f}"
          f"   (mean of seeds {','.join(map(str, seeds))}; sd between seeds {100 * bench['occupancy_sd_between_seeds']:.1f} / "
          f"{100 * bench['abandon_rate_sd_between_seeds']:.2f} points)")
    print(f"{'live':8} {'-' if occ is None else f'{100 * occ:.1f}':>12} {100 * live['abandon_rate']:11.2f} {live['live_answers']:13d}"
          f"   (x{args.scale:g}, {live['wall_s']:.0f} s wall)")
    print(f"gap: occupancy {result['occupancy_gap_points']} points, abandons {result['abandon_gap_points']} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
