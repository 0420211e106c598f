"""A campaign's live figures through the API of any ``--scale-out`` node (issue 15), on PostgreSQL.

One campaign dials through two simulated Asterisk servers, one unit each:
node-a's engine holds ``default``, node-b's holds ``pbx-b``. node-c holds
nothing; its API (the real HTTP server, its engine a ``PoolView``) answers
``GET /campaigns/{id}/stats`` with each server's figures, as published by the
unit's holder, and their merge. The campaign is paused once both units have
connected calls, and the test waits until every call has ended, so the figures
compared are settled. Waits are bounded ("until ... or fail"), never timed
assertions.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import (
    Target,
    agent_interface,
    make_campaign,
    number,
    second_simulator,
    start_target,
    stop_target,
)
from olive.ami import ServerConfig
from olive.compliance import AllowAll
from olive.engine import CampaignStatus, Engine
from olive.engine._runner import CampaignCounters
from olive.engine._unit import NotDialing
from olive.engine._unit_hangup import PoolView
from olive.engine._unit_scope import UnitScope
from olive.store import (
    Agent,
    Call,
    Campaign,
    ServerLimits,
    UnitLease,
    acquire_units,
    create_api_key,
    register_servers,
    set_campaign_servers,
    transaction,
)

from .conftest import start_live_api, stop_live_api
from .helpers import ok

pytestmark = pytest.mark.postgres

ON_DEFAULT = ["801", "802"]
ON_B = ["803", "804"]
RULES = {k: {"max_attempts": 1, "delay_s": 60} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    t = await start_target()
    if not t.simulated:
        await stop_target(t)
        pytest.skip("two Asterisk servers are two simulators")
    yield t
    await stop_target(t)


@pytest.fixture
async def pbx_b(target: Target) -> AsyncIterator[Any]:
    """A second simulated Asterisk on the first one's clock."""
    async with second_simulator(target) as pbx:
        yield pbx


async def until(target: Target, predicate: Callable[[], bool], *, within_s: float, what: str) -> None:
    """Wait, in the simulators' time, until ``predicate()`` holds."""
    deadline = target.clock.now() + within_s
    while not predicate():
        if target.clock.now() > deadline:
            raise AssertionError(f"not within {within_s:g} s: {what}")
        await asyncio.sleep(0.05)


def settled(sessions: sessionmaker[Session], engine: Engine, campaign_id: str, server: str) -> bool:
    """Every call the unit placed has ended, and its pacer has counted each one."""
    with transaction(sessions) as s:
        ended = s.scalars(select(Call.ended_at).where(Call.campaign_id == campaign_id, Call.server == server)).all()
    runner = engine.runners.get(campaign_id)
    return (
        runner is not None and all(e is not None for e in ended)
        and sum(runner.counters.outcomes.values()) == len(ended)
    )


def counters(statuses: dict[str, CampaignStatus]) -> dict[str, CampaignCounters]:
    out = {}
    for server, status in statuses.items():
        assert status.counters is not None
        out[server] = status.counters
    return out


async def test_any_nodes_api_shows_the_campaigns_figures_from_the_nodes_holding_its_units(
    session_factory: sessionmaker[Session], target: Target, pbx_b: Any
) -> None:
    sessions = session_factory
    cid = make_campaign(sessions, name="live figures", contacts=[number(1, 100 + i) for i in range(60)],
                        agents=[*ON_DEFAULT, *ON_B], retry_rules=RULES)
    with transaction(sessions) as s:
        s.execute(update(Agent).where(Agent.interface.in_([agent_interface(a) for a in ON_B])).values(server="pbx-b"))
        register_servers(s, {"default": ServerLimits(), "pbx-b": ServerLimits()})
        set_campaign_servers(s, cid, ["default", "pbx-b"])
        leases: dict[str, UnitLease] = {}
        for node in ("node-a", "node-b"):
            (lease,) = acquire_units(s, node, 600.0, limit=1)
            leases[lease.server] = lease
        _, key = create_api_key(s, "operator", "viewer")
    assert (leases["default"].node, leases["pbx-b"].node) == ("node-a", "node-b")
    links = {"default": target.server, "pbx-b": ServerConfig("127.0.0.1", pbx_b.port, "olive", "olive-test")}
    engines = {
        server: Engine(sessions, {server: links[server]}, clock=target.clock, guard=AllowAll(), tick_s=0.5,
                       unit=UnitScope(lease, lambda: True))
        for server, lease in leases.items()
    }
    api = None
    try:
        for engine in engines.values():
            await engine.start()
        await until(target, lambda: all((r := e.runners.get(cid)) is not None and r.counters.connects > 0
                                        for e in engines.values()),
                    within_s=1200, what="calls connected on both servers")
        with transaction(sessions) as s:  # settle the figures: no new call, those in progress end
            s.execute(update(Campaign).where(Campaign.id == cid).values(status="paused"))
        for engine in engines.values():
            engine.invalidate()
        for server, engine in engines.items():
            await until(target, functools.partial(settled, sessions, engine, cid, server),
                        within_s=1200, what=f"{server}'s calls ended and counted")
        mine = {server: engine.status(cid) for server, engine in engines.items()}

        # node-c: holds nothing, dials nothing; its API answers from the units' published figures.
        def node_c() -> PoolView:
            return PoolView(sessions, {}, clock=target.clock, tick_s=0.5 * target.clock.scale,
                            lease=NotDialing(sessions, "node-c"),
                            stale_after_s=600.0)  # the staleness rule is tested with exact times elsewhere

        api = await asyncio.to_thread(start_live_api, sessions, engine_factory=node_c)
        client = api.client(key)

        stats: dict[str, Any] = {}

        def settled_figures_shown() -> bool:
            nonlocal stats
            stats = ok(client.get(f"/campaigns/{cid}/stats"))
            units = {u["server"]: u for u in stats.get("units") or ()}
            return units.keys() == mine.keys() and all(
                (units[server]["note"] or "").startswith("paused")
                and (units[server]["outcomes"], units[server]["dials"]) == (c.outcomes, c.dials)
                for server, c in counters(mine).items()
            )

        deadline = target.clock.now() + 1200
        while not await asyncio.to_thread(settled_figures_shown):
            assert target.clock.now() < deadline, f"node-c's API never showed both units' settled figures: {stats}"
            await asyncio.sleep(0.1)
        client.close()
    finally:
        if api is not None:
            await asyncio.to_thread(stop_live_api, api)
        for engine in engines.values():
            await engine.stop()

    units = {u["server"]: u for u in stats["units"]}
    for server, status in mine.items():
        unit, c, decision = units[server], counters(mine)[server], status.last_decision
        assert decision is not None
        assert (unit["node"], unit["token"], unit["owner_node"], unit["stale"]) == (
            leases[server].node, leases[server].token, leases[server].node, False)
        assert unit["outcomes"] == c.outcomes
        assert (unit["dials"], unit["connects"]) == (c.dials, c.connects)
        assert unit["agent_hours"] > 0 and unit["occupancy"] is not None
        assert unit["pacer"]["mode"] == "progressive"
        assert unit["pacer"]["last_decision"] == {"dials": decision[0], "reason": decision[1]}
        assert [w["window_s"] for w in unit["pacer"]["abandon_windows"]] == [None, 30 * 86400.0]
    # The campaign's figures are the merge: every call of both servers, counted by the pacers that placed them.
    a, b = counters(mine)["default"], counters(mine)["pbx-b"]
    assert stats["outcomes"] == dict(Counter(a.outcomes) + Counter(b.outcomes))  # the store's count agrees
    assert stats["agent_hours"] == pytest.approx(sum(u["agent_hours"] for u in units.values()))
    assert stats["connects_per_agent_hour"] == pytest.approx((a.connects + b.connects) / stats["agent_hours"])
    assert stats["occupancy"] is not None
    assert stats["pacer"]["mode"] == "progressive"
    assert stats["dial_level"] == 1.0
    assert stats["pacer"]["last_decision"]["reason"].startswith("default: ")
    assert "; pbx-b: " in stats["pacer"]["last_decision"]["reason"]
    live = [w["live_answers"] for w in stats["pacer"]["abandon_windows"]]
    assert live == [sum(units[s]["pacer"]["abandon_windows"][i]["live_answers"] for s in units) for i in range(2)]
    assert stats["live_at"] is not None
    assert stats["note"].startswith("default (node node-a): paused")
    assert "; pbx-b (node node-b): paused" in stats["note"]
