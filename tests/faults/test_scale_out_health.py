"""A unit's server goes down and comes back (issue 15), in one process against the simulator.

"A server down stops only the units on it; when it comes back its units resume
after membership is confirmed." The unit's engine sends no Originate while its
link is down; the health its node writes (``UnitEngines.server_health``, written
to ``servers.health`` with each renewal: tests/engine/test_node.py) is ``down``
from the loss until the queue holds its agents again, and only then ``up``;
the unit's first Originate after the server is back comes after the agents are
back in the queue.
"""

from __future__ import annotations

import asyncio

import pytest

from e2e.harness import QUEUE, Olive, agent_interface, make_campaign, number
from faults.checks import first_action_after
from olive.engine import Engine
from olive.engine._unit import UnitEngines
from olive.engine._unit_scope import UnitScope
from olive.store import (
    ServerLimits,
    acquire_units,
    register_servers,
    set_campaign_servers,
    transaction,
)

pytestmark = pytest.mark.postgres

AGENTS = ["801", "802", "803"]
RULES = {k: {"max_attempts": 3, "delay_s": 20} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


def members(olive: Olive) -> set[str]:
    return {m.interface for m in olive.target.pbx.queue_members(QUEUE)}


async def test_a_server_down_is_seen_down_and_its_unit_resumes_only_once_its_agents_are_back(olive: Olive) -> None:
    cid = make_campaign(olive.sessions, name="server down", contacts=[number(1, 900 + i) for i in range(60)],
                        agents=AGENTS, retry_rules=RULES)
    with transaction(olive.sessions) as s:
        register_servers(s, {"default": ServerLimits()})
        set_campaign_servers(s, cid, ["default"])
        (lease,) = acquire_units(s, "node-a", 600.0, limit=1)
    engine = Engine(olive.sessions, {"default": olive.target.server}, clock=olive.target.clock, guard=olive.guard,
                    tick_s=0.5, unit=UnitScope(lease, lambda: True))
    units = UnitEngines(asyncio.get_running_loop(), lambda scope: engine)
    units.engines[lease.key] = engine  # what UnitEngines.start leaves once the engine has started
    await engine.start()
    olive.engine = engine
    pbx, link = olive.target.pbx, engine.links["default"]
    everyone = {agent_interface(a) for a in AGENTS}
    await olive.until(lambda: units.server_health().get("default", ("", None))[0] == "up", within_s=60, what="up")
    await olive.until(lambda: any(a.action.name == "Originate" for a in pbx.actions), within_s=60, what="dialing")

    await pbx.restart(down_s=3.0, clean=False)  # a crash: every session drops, the queue members are forgotten
    down_at = olive.target.clock.now()
    seen: list[tuple[str, bool]] = []  # (health, the queue holds every agent) at each look

    def look() -> bool:
        health = units.server_health()["default"][0]
        seen.append((health, members(olive) == everyone))
        return health == "up" and link.client.connections >= 2

    await olive.until(look, within_s=90, what="the server seen up again")
    assert seen[0][0] == "down", "the server was not seen down after its crash"
    assert all(back for health, back in seen if health == "up"), "up before the agents were back in the queue"
    (login,) = [r.time for r in pbx.actions if r.action.name == "Login" and r.time > down_at]
    assert first_action_after(pbx, "Originate", down_at) is None or (
        first_action_after(pbx, "Originate", down_at) or 0.0) >= login, "an Originate while the server was down"
    await olive.until(lambda: first_action_after(pbx, "Originate", login) is not None, within_s=30, what="dialing again")
    added = [r.time for r in pbx.actions if r.action.name == "QueueAdd" and r.time > login]
    assert {r.action.get("Interface") for r in pbx.actions if r.action.name == "QueueAdd" and r.time > login} == everyone
    redial = first_action_after(pbx, "Originate", login)
    assert redial is not None and redial >= max(added), "the unit dialed before its agents were back in the queue"
