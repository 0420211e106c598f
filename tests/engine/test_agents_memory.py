"""Agents logging in, pausing and logging out while a campaign runs, in memory on a manual clock.

The same campaign as tests/e2e/test_agents.py (which runs over TCP, also against a real
Asterisk): here every queue operation is checked at the simulated Asterisk the tick after
the operator's verb, and the paused agent gets no call at all once the pause is sent.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from e2e.harness import agent_interface, make_campaign, number
from engine.memory import InMemory
from olive.store import Agent, to_epoch, transaction


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


def agent(mem: InMemory, ext: str) -> Agent:
    with transaction(mem.sessions) as s:
        return s.scalars(select(Agent).where(Agent.interface == agent_interface(ext))).one()


def connected(mem: InMemory, cid: str) -> int:
    return sum(c.outcome == "CONNECTED" for c in mem.calls(cid))


async def test_login_pause_ready_logout_mid_campaign(mem: InMemory) -> None:
    rules = {"NO_ANSWER": {"max_attempts": 1, "delay_s": 30}, "ABANDONED": {"max_attempts": 2, "delay_s": 30}}
    contacts = [number(1, 200 + i) for i in range(24)]
    cid = make_campaign(mem.sessions, name="agents", contacts=contacts, agents=["101", "102"], retry_rules=rules)
    first, late = agent(mem, "101").id, agent(mem, "102").id
    with transaction(mem.sessions) as s:
        s.get(Agent, late).state = "logged_out"  # type: ignore[union-attr]
    members = lambda: {m.interface: m for m in mem.pbx.queue_members("olive-test")}  # noqa: E731
    control = mem.engine.control
    await mem.start()

    await mem.run_until(lambda: connected(mem, cid) >= 2, within_s=600, what="two connects")
    assert set(members()) == {agent_interface("101")}  # the logged-out agent is not in the queue

    await control.login_agent(late)
    await mem.run_until(lambda: agent_interface("102") in members(), within_s=2 * mem.tick_s, what="QueueAdd at the next tick")
    await control.pause_agent(first, "coffee")
    paused_at = mem.clock.now()
    await mem.run_until(lambda: members()[agent_interface("101")].paused, within_s=2 * mem.tick_s, what="QueuePause")
    assert members()[agent_interface("101")].reason == "coffee"
    paused_sent = mem.clock.now()
    await mem.run_until(lambda: connected(mem, cid) >= 8, within_s=1200, what="more connects")
    await control.ready_agent(first)
    ready_at = mem.clock.now()
    # Logging out mid-call is refused; pause, let the call end, then log out.
    await control.pause_agent(late, "end of shift")
    await mem.run_until(lambda: agent(mem, "102").state not in ("on_call", "ringing"), within_s=600, what="agent 102 free")
    await control.logout_agent(late)
    await mem.run_until(lambda: agent_interface("102") not in members(), within_s=2 * mem.tick_s, what="QueueRemove")
    assert agent(mem, "102").state == "logged_out"

    report = await mem.finish(cid, within_s=4 * 3600)
    calls = mem.calls(cid)
    assert report.outcomes["CONNECTED"] == 24  # every contact reached
    assert report.outcomes.get("ABANDONED", 0) <= 2  # a call on its way to an agent who pauses may be dropped
    assert any(c.agent_interface == agent_interface("102") for c in calls), "the agent who logged in took calls"
    # No call reached 101 from the QueuePause until it was ready again (one may have been ringing at the pause).
    during = [
        c for c in calls if c.agent_interface == agent_interface("101") and c.agent_connected_at is not None
        and paused_sent < to_epoch(c.agent_connected_at) < ready_at
    ]
    assert [c for c in during if c.originated_at is not None and to_epoch(c.originated_at) >= paused_at] == []
