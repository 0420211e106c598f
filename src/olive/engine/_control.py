"""What operators ask the engine to do: start, pause, resume and stop campaigns;
log agents in and out, pause them and make them ready again.

Each changes the store first (the tick picks it up: memberships and dialing
follow within one tick) and sends the AMI actions that cannot wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from olive import ami
from olive.errors import Conflict
from olive.store import (
    Agent,
    AgentRepository,
    Campaign,
    CampaignRepository,
    from_epoch,
    transaction,
)

if TYPE_CHECKING:
    from olive.engine._engine import Engine

log = logging.getLogger("olive.engine")


def start_campaign(session: Session, campaign_id: str, now: float) -> Campaign:
    """Checks and status change for starting a campaign; raises Conflict when it cannot start."""
    campaign = CampaignRepository(session).get_with_links(campaign_id)
    if campaign.status == "running":
        return campaign
    if not campaign.agents:
        raise Conflict(f"campaign {campaign.name} has no agents", field="agents")
    if not campaign.dial_lists:
        raise Conflict(f"campaign {campaign.name} has no dial list", field="dial_lists")
    from olive.compliance import (
        campaign_problems,  # not at import time: compliance builds on the engine
    )

    problems = campaign_problems(campaign.plan.snapshot(), campaign.schedule, campaign.compliance_profile)
    if problems:
        raise Conflict("; ".join(problems), field="plan")
    campaign.status = "running"
    if campaign.started_at is None:
        campaign.started_at = from_epoch(now)
    campaign.finished_at = None
    return campaign


class Control:
    """The engine's operator-facing verbs: ``engine.control.start_campaign(id)``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def start_campaign(self, campaign_id: str) -> None:
        with transaction(self.engine.sessions) as session:
            start_campaign(session, campaign_id, self.engine.clock.now())
        self.engine.invalidate()
        await self.engine.tick()  # the campaign dials, or says why not, right away

    async def pause_campaign(self, campaign_id: str) -> None:
        self._set_status(campaign_id, "paused", allowed=("running", "paused"))

    async def resume_campaign(self, campaign_id: str) -> None:
        self._set_status(campaign_id, "running", allowed=("paused", "running"))

    async def stop_campaign(self, campaign_id: str, *, force: bool = False) -> int:
        """Stop dialing; calls in progress finish unless ``force`` hangs them up. Returns calls hung up."""
        self._set_status(campaign_id, "stopped", allowed=("running", "paused", "stopped", "finished"))
        return await self.engine.hangup_calls(campaign_id) if force else 0

    def _set_status(self, campaign_id: str, status: str, *, allowed: tuple[str, ...]) -> None:
        with transaction(self.engine.sessions) as session:
            campaign = CampaignRepository(session).get_or_raise(campaign_id)
            if campaign.status not in allowed:
                raise Conflict(f"campaign {campaign.name} is {campaign.status}; cannot make it {status}", field="status")
            campaign.status = status
        self.engine.invalidate()
        self.engine.bus.publish("campaign", self.engine.clock.now(), {"campaign_id": campaign_id, "status": status}, campaign_id)

    async def login_agent(self, agent_id: str) -> None:
        """The agent starts working: the next tick adds them to their running campaigns' queues."""
        with transaction(self.engine.sessions) as session:
            agent = AgentRepository(session).get_or_raise(agent_id)
            if agent.state == "logged_out":
                agent.state, agent.pause_reason, agent.state_since = "ready", None, from_epoch(self.engine.clock.now())
        self._agent_event(agent_id, "ready")

    async def logout_agent(self, agent_id: str) -> None:
        with transaction(self.engine.sessions) as session:
            agent = AgentRepository(session).get_or_raise(agent_id)
            if agent.state in ("on_call", "ringing"):
                raise Conflict(f"agent {agent.name} is on a call; pause them first and log out after it", field="state")
            agent.state, agent.pause_reason, agent.state_since = "logged_out", None, from_epoch(self.engine.clock.now())
            interface = agent.interface
        await self._queue_pause_all(interface, None, remove=True)
        self._agent_event(agent_id, "logged_out")

    async def log_out_campaign_agents(self, campaign_id: str, *, timeout_s: float = 5.0) -> list[str]:
        """The end of ``olive run``: the campaign's agents are logged out in the store
        and removed from its queue (QueueRemove), whether or not a call is still up.
        Returns the interfaces Asterisk could not be asked to remove (link down)."""
        with transaction(self.engine.sessions) as session:
            campaign = CampaignRepository(session).get_with_links(campaign_id)
            server, queue = campaign.server, campaign.queue
            now = from_epoch(self.engine.clock.now())
            interfaces = []
            for agent in campaign.agents:
                interfaces.append(agent.interface)
                if agent.state != "logged_out":
                    agent.state, agent.pause_reason, agent.state_since = "logged_out", None, now
                    self.engine.bus.publish("agent", self.engine.clock.now(), {"agent_id": agent.id, "state": "logged_out"})
        self.engine.invalidate()
        link = self.engine.links.get(server)
        if link is None or not link.ready:
            log.warning("Asterisk %s is not connected: %s stay members of %s", server, ", ".join(interfaces), queue)
            return interfaces
        left: list[str] = []

        async def remove(interface: str) -> None:
            act = ami.action("QueueRemove", Queue=queue, Interface=interface)
            try:
                await asyncio.wait_for(link.client.send_action(act, check=False), timeout_s)
            except (ami.AMIError, TimeoutError) as exc:
                log.warning("QueueRemove %s from %s failed: %s", interface, queue, exc)
                left.append(interface)

        await asyncio.gather(*(remove(i) for i in interfaces))
        return left

    async def pause_agent(self, agent_id: str, reason: str) -> None:
        with transaction(self.engine.sessions) as session:
            agent = self._logged_in(session, agent_id)
            agent.pause_reason = reason
            if agent.state not in ("on_call", "ringing", "wrap_up"):
                agent.state, agent.state_since = "paused", from_epoch(self.engine.clock.now())
            interface = agent.interface
        await self._queue_pause_all(interface, reason)
        self._agent_event(agent_id, "paused")

    async def ready_agent(self, agent_id: str) -> None:
        with transaction(self.engine.sessions) as session:
            agent = self._logged_in(session, agent_id)
            agent.pause_reason = None
            if agent.state == "paused":
                agent.state, agent.state_since = "ready", from_epoch(self.engine.clock.now())
            interface = agent.interface
        await self._queue_pause_all(interface, None)
        self._agent_event(agent_id, "ready")

    def _logged_in(self, session: Session, agent_id: str) -> Agent:
        agent = AgentRepository(session).get_or_raise(agent_id)
        if agent.state == "logged_out":
            raise Conflict(f"agent {agent.name} is logged out; log them in first", field="state")
        return agent

    async def _queue_pause_all(self, interface: str, reason: str | None, *, remove: bool = False) -> None:
        for link in self.engine.links.values():
            status = link.members.get(interface)
            if status is None or not link.ready:
                continue
            for queue in sorted(status.queues & link.queues):
                if remove:
                    act = ami.action("QueueRemove", Queue=queue, Interface=interface)
                else:
                    act = ami.action("QueuePause", Queue=queue, Interface=interface, Paused=reason is not None, Reason=reason)
                with contextlib.suppress(ami.AMIError):
                    await link.client.send_action(act, check=False)

    def _agent_event(self, agent_id: str, state: str) -> None:
        self.engine.invalidate()
        self.engine.bus.publish("agent", self.engine.clock.now(), {"agent_id": agent_id, "state": state})


__all__ = ["Control", "start_campaign"]
