"""Agents logging in, pausing and logging out while the campaign runs."""

from __future__ import annotations

from sqlalchemy import select

from e2e.harness import Olive, agent_interface, make_campaign, number
from olive.store import Agent, transaction


def agent_id(olive: Olive, ext: str) -> str:
    with transaction(olive.sessions) as s:
        agent = s.scalars(select(Agent).where(Agent.interface == agent_interface(ext))).one()
        return agent.id


class TestAgentsMidCampaign:
    async def test_login_pause_logout(self, olive: Olive) -> None:
        rules = {"NO_ANSWER": {"max_attempts": 1, "delay_s": 30}, "ABANDONED": {"max_attempts": 2, "delay_s": 30}}
        # 16 contacts (24 until issue 12): the exact checks are in memory, tests/engine/test_agents_memory.py.
        contacts = [number(1, 200 + i) for i in range(16)]
        cid = make_campaign(olive.sessions, name="agents", contacts=contacts, agents=["101", "102"], retry_rules=rules)
        late = agent_id(olive, "102")
        with transaction(olive.sessions) as s:
            s.get(Agent, late).state = "logged_out"  # type: ignore[union-attr]
        engine = await olive.start()
        members = lambda: {m.interface: m for m in olive.target.pbx.queue_members("olive-test")} if olive.target.simulated else {}  # noqa: E731

        await olive.until(lambda: olive.report(cid).outcomes.get("CONNECTED", 0) >= 2, within_s=600, what="two connects")
        if olive.target.simulated:
            assert set(members()) == {agent_interface("101")}

        await engine.control.login_agent(late)
        await olive.until(lambda: agent_interface("102") in members() or not olive.target.simulated, within_s=60, what="QueueAdd")
        first = agent_id(olive, "101")
        await engine.control.pause_agent(first, "coffee")
        paused_at = olive.target.clock.now()
        if olive.target.simulated:
            await olive.until(lambda: members()[agent_interface("101")].paused, within_s=60, what="QueuePause")
            assert members()[agent_interface("101")].reason == "coffee"
        await olive.until(lambda: olive.report(cid).outcomes.get("CONNECTED", 0) >= 6, within_s=1200, what="more connects")
        await engine.control.ready_agent(first)
        # Logging out mid-call is refused; pause, let the call end, then log out.
        await engine.control.pause_agent(late, "end of shift")
        await olive.until(lambda: not self._on_call(olive, late), within_s=600, what="agent 102 free")
        await engine.control.logout_agent(late)
        if olive.target.simulated:
            await olive.until(lambda: agent_interface("102") not in members(), within_s=60, what="QueueRemove")
        report = await olive.finish(cid, within_s=4 * 3600)
        calls = olive.calls(cid)
        # Every contact is reached. A call already on its way to an agent who pauses
        # may find no one free and be dropped at the connect limit, then retried.
        assert report.outcomes["CONNECTED"] == 16
        assert report.outcomes.get("ABANDONED", 0) <= 2
        by_agent = {}
        for call in calls:
            by_agent.setdefault(call.agent_interface, []).append(call)
        assert agent_interface("102") in by_agent, "the agent who logged in took calls"
        # No call reached the paused agent after the pause took effect (one may already have been ringing).
        late_to_paused = [
            c for c in by_agent.get(agent_interface("101"), [])
            if c.agent_connected_at and c.agent_connected_at.timestamp() > paused_at + 5
            and c.agent_connected_at.timestamp() < paused_at + 60
        ]
        assert len(late_to_paused) == 0

    @staticmethod
    def _on_call(olive: Olive, agent: str) -> bool:
        with transaction(olive.sessions) as s:
            a = s.get(Agent, agent)
            return a is not None and a.state in ("on_call", "ringing")

    # An agent who misses two rings in a row is paused: tests/engine/test_in_memory.py (TestMissedRings).
