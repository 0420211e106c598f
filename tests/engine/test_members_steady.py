"""The engine's per-tick reads of its agents, in the steady state and when something changes.

At 1,000 agents the membership plan (every period) and the pacer's view of the agents (every
tick) walked every agent; in the steady state both now keep what they read until it changes
(engine/_members.py, engine/_runner.py). These tests pin both halves: nothing is walked while
nothing changes, and every change that matters is still seen (a member removed at Asterisk's
console comes back, an agent's new state reaches the pacer the same tick).
"""

from __future__ import annotations

from typing import Any

import pytest

from e2e.harness import QUEUE, agent_interface, make_campaign, number
from engine.memory import InMemory
from olive import ami, pacing
from olive.calls import AgentActivity, MemberTracker


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


class CountingMembers:
    """Counts the membership plan's walks over a link's members."""

    def __init__(self, members: MemberTracker) -> None:
        self.members = members
        self.walks = 0

    def __call__(self) -> list[Any]:
        self.walks += 1
        return MemberTracker.agents(self.members)


async def _in_line(mem: InMemory, extensions: tuple[str, ...]) -> str:
    """A running campaign of numbers that ring forever, its agents all in the queue."""
    cid = make_campaign(mem.sessions, name="steady", contacts=[number(3, 300 + i) for i in range(4)], agents=extensions,
                        max_concurrent=1)
    await mem.start()
    wanted = {agent_interface(e) for e in extensions}
    await mem.run_until(lambda: set(mem.pbx.queues.queues[QUEUE].members) == wanted, within_s=10, what="the agents added")
    return cid


async def test_the_steady_state_plan_walks_no_member_and_a_member_removed_by_hand_comes_back(mem: InMemory) -> None:
    await _in_line(mem, ("101", "102"))
    link = mem.engine.links["default"]
    await mem.run_for(2.0)  # a plan has found every member in line
    walks = CountingMembers(link.members)
    link.members.agents = walks  # type: ignore[method-assign]
    await mem.run_for(10.0)  # 20 ticks, ten refreshes of campaigns and agents: nothing changed
    assert walks.walks == 0

    # Someone at Asterisk's console removes a member: the event changes the membership, the plan runs again.
    response = await link.client.send_action(ami.action("QueueRemove", Queue=QUEUE, Interface=agent_interface("102")))
    assert response.ok
    await mem.run_until(lambda: agent_interface("102") not in mem.pbx.queues.queues[QUEUE].members, within_s=2, what="removed")
    await mem.run_until(lambda: agent_interface("102") in mem.pbx.queues.queues[QUEUE].members, within_s=2 * mem.tick_s,
                        what="added back at the next period")
    assert walks.walks >= 1
    settled = walks.walks
    await mem.run_for(5.0)
    assert walks.walks <= settled + 1  # in line again: at most the plan that saw it so


async def test_an_agent_logged_in_is_added_though_the_plan_rested(mem: InMemory) -> None:
    """A login changes the agents a refresh reads: the plan runs again and adds them."""
    from sqlalchemy import select

    from olive.store import Agent, transaction

    await _in_line(mem, ("101", "102"))
    with transaction(mem.sessions) as s:
        late = s.scalars(select(Agent).where(Agent.interface == agent_interface("102"))).one().id
    await mem.engine.control.logout_agent(late)
    await mem.run_until(lambda: agent_interface("102") not in mem.pbx.queues.queues[QUEUE].members, within_s=2, what="out")
    await mem.run_for(5.0)  # at rest without them
    await mem.engine.control.login_agent(late)
    await mem.run_until(lambda: agent_interface("102") in mem.pbx.queues.queues[QUEUE].members, within_s=2 * mem.tick_s,
                        what="QueueAdd at the next tick")


async def test_the_pacer_sees_each_agent_change_and_rereads_nothing_while_none_happens(mem: InMemory) -> None:
    cid = await _in_line(mem, ("101", "102"))
    engine = mem.engine
    [campaign] = [c for c in engine.campaigns if c.id == cid]
    await mem.run_for(1.0)
    first = engine.members.agents_of(campaign)
    assert engine.members.agents_of(campaign) is first  # nothing changed: the same tuple, the pacer keeps its view
    runner = engine.runners[cid]
    views = runner.snapshot(mem.clock.now(), first, []).agents
    assert runner.snapshot(mem.clock.now(), first, []).agents is views

    # A pause changes one agent's status, not the queue's members: the next read has it.
    paused = next(a for a in first if a.interface == agent_interface("102"))
    await engine.control.pause_agent(engine._agent_ids[paused.interface], "coffee")
    await mem.run_until(lambda: any(a.activity is AgentActivity.PAUSED for a in engine.members.agents_of(campaign)),
                        within_s=2 * mem.tick_s, what="the pause seen")
    after = engine.members.agents_of(campaign)
    assert after is not first and {a.interface for a in after} == {a.interface for a in first}
    now_views = runner.snapshot(mem.clock.now(), after, []).agents
    assert [v.activity for v in now_views].count(pacing.AgentActivity.PAUSED) == 1 and len(now_views) == len(views)
