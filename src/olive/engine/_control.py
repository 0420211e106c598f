"""What operators ask the engine to do: start, pause, resume and stop campaigns;
log agents in and out, pause them and make them ready again.

Each changes the store first, in the engine's database thread (the tick picks
it up: memberships and dialing follow within one tick), and sends the AMI
actions that cannot wait. Starting a campaign asks the engine's loop for a tick
and returns the campaign's status after it: the loop stays the only pump.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from olive import ami
from olive.compliance import campaign_problems
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
    from olive.clock import Clock
    from olive.engine._bus import EventBus
    from olive.engine._campaigns import CampaignStatus
    from olive.engine._link import PbxLink

log = logging.getLogger("olive.engine")
T = TypeVar("T")


class ControlHost(Protocol):
    """What the operator verbs need of the engine, and no more."""

    @property
    def clock(self) -> Clock: ...
    @property
    def bus(self) -> EventBus: ...
    @property
    def links(self) -> Mapping[str, PbxLink]: ...
    def invalidate(self) -> None: ...
    async def next_tick(self) -> None: ...
    async def run_db(self, fn: Callable[..., T], *args: Any) -> T: ...
    async def hangup_calls(self, campaign_id: str | None) -> int: ...
    def status(self, campaign_id: str) -> CampaignStatus: ...


def start_campaign(session: Session, campaign_id: str, now: float) -> Campaign:
    """Checks and status change for starting a campaign; raises Conflict when it cannot start."""
    campaign = CampaignRepository(session).get_with_links(campaign_id)
    if campaign.status == "running":
        return campaign
    if not campaign.agents:
        raise Conflict(f"campaign {campaign.name} has no agents", field="agents")
    if not campaign.dial_lists:
        raise Conflict(f"campaign {campaign.name} has no dial list", field="dial_lists")
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

    def __init__(self, engine: ControlHost, sessions: sessionmaker[Session]) -> None:
        self.engine = engine
        self.sessions = sessions

    async def _in_transaction(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, *args)`` in one transaction, in the engine's database thread."""

        def run() -> T:
            with transaction(self.sessions) as session:
                return fn(session, *args)

        return await self.engine.run_db(run)

    async def start_campaign(self, campaign_id: str) -> CampaignStatus:
        """Start dialing; returns the campaign's status after the engine's next tick
        (it dials, or says why not, right away)."""
        await self._in_transaction(start_campaign, campaign_id, self.engine.clock.now())
        self.engine.invalidate()
        await self.engine.next_tick()
        return self.engine.status(campaign_id)

    async def pause_campaign(self, campaign_id: str) -> CampaignStatus:
        await self._set_status(campaign_id, "paused", allowed=("running", "paused"))
        return self.engine.status(campaign_id)

    async def resume_campaign(self, campaign_id: str) -> CampaignStatus:
        await self._set_status(campaign_id, "running", allowed=("paused", "running"))
        return self.engine.status(campaign_id)

    async def stop_campaign(self, campaign_id: str, *, force: bool = False) -> int:
        """Stop dialing; calls in progress finish unless ``force`` hangs them up. Returns calls hung up."""
        await self._set_status(campaign_id, "stopped", allowed=("running", "paused", "stopped", "finished"))
        return await self.engine.hangup_calls(campaign_id) if force else 0

    async def _set_status(self, campaign_id: str, status: str, *, allowed: tuple[str, ...]) -> None:
        def change(session: Session) -> None:
            campaign = CampaignRepository(session).get_or_raise(campaign_id)
            if campaign.status not in allowed:
                raise Conflict(f"campaign {campaign.name} is {campaign.status}; cannot make it {status}", field="status")
            campaign.status = status

        await self._in_transaction(change)
        self.engine.invalidate()
        self.engine.bus.publish("campaign", self.engine.clock.now(), {"campaign_id": campaign_id, "status": status}, campaign_id)
        await self.engine.next_tick()  # the engine works from the change when the verb returns

    async def login_agent(self, agent_id: str) -> None:
        """The agent starts working: the next tick adds them to their running campaigns' queues."""
        now = from_epoch(self.engine.clock.now())

        def login(session: Session) -> None:
            agent = AgentRepository(session).get_or_raise(agent_id)
            if agent.state == "logged_out":
                agent.state, agent.pause_reason, agent.state_since = "ready", None, now

        await self._in_transaction(login)
        self._agent_event(agent_id, "ready")

    async def logout_agent(self, agent_id: str) -> None:
        now = from_epoch(self.engine.clock.now())

        def logout(session: Session) -> str:
            agent = AgentRepository(session).get_or_raise(agent_id)
            if agent.state in ("on_call", "ringing"):
                raise Conflict(f"agent {agent.name} is on a call; pause them first and log out after it", field="state")
            agent.state, agent.pause_reason, agent.state_since = "logged_out", None, now
            return agent.interface

        interface = await self._in_transaction(logout)
        await self._queue_pause_all(interface, None, remove=True)
        self._agent_event(agent_id, "logged_out")

    async def log_out_campaign_agents(self, campaign_id: str, *, timeout_s: float = 5.0) -> list[str]:
        """The end of ``olive run``: the campaign's agents are logged out in the store
        and removed from its queue (QueueRemove), whether or not a call is still up.
        Returns the interfaces Asterisk could not be asked to remove (link down)."""
        now = from_epoch(self.engine.clock.now())

        def log_out(session: Session) -> tuple[str, str, str | None, list[str], list[str]]:
            campaign = CampaignRepository(session).get_with_links(campaign_id)
            interfaces, logged_out = [], []
            for agent in campaign.agents:
                interfaces.append(agent.interface)
                if agent.state != "logged_out":
                    agent.state, agent.pause_reason, agent.state_since = "logged_out", None, now
                    logged_out.append(agent.id)
            callback_queue = campaign.plan.snapshot().get("callback_queue")
            return campaign.server, campaign.queue, callback_queue, interfaces, logged_out

        server, queue, callback_queue, interfaces, logged_out = await self._in_transaction(log_out)
        for agent_id in logged_out:  # committed: now say so
            self.engine.bus.publish("agent", self.engine.clock.now(), {"agent_id": agent_id, "state": "logged_out"})
        self.engine.invalidate()
        link = self.engine.links.get(server)
        if link is None or not link.ready:
            log.warning("Asterisk %s is not connected: %s stay members of %s", server, ", ".join(interfaces), queue)
            return interfaces
        left: list[str] = []

        async def remove(interface: str, queue: str = queue) -> None:
            act = ami.action("QueueRemove", Queue=queue, Interface=interface)
            try:
                await asyncio.wait_for(link.client.send_action(act, check=False), timeout_s)
            except (ami.AMIError, TimeoutError) as exc:
                log.warning("QueueRemove %s from %s failed: %s", interface, queue, exc)
                left.append(interface)

        await asyncio.gather(*(remove(i) for i in interfaces))
        if callback_queue:  # and from the owned callbacks' queue (engine/_callbacks.py), quietly: maybe never added
            members = {st.interface for st in link.members.agents() if str(callback_queue) in st.queues}
            await asyncio.gather(*(remove(i, str(callback_queue)) for i in interfaces if i in members))
        return left

    async def pause_agent(self, agent_id: str, reason: str) -> None:
        now = from_epoch(self.engine.clock.now())

        def pause(session: Session) -> str:
            agent = self._logged_in(session, agent_id)
            agent.pause_reason = reason
            if agent.state not in ("on_call", "ringing", "wrap_up"):
                agent.state, agent.state_since = "paused", now
            return agent.interface

        interface = await self._in_transaction(pause)
        await self._queue_pause_all(interface, reason)
        self._agent_event(agent_id, "paused")

    async def ready_agent(self, agent_id: str) -> None:
        now = from_epoch(self.engine.clock.now())

        def ready(session: Session) -> str:
            agent = self._logged_in(session, agent_id)
            agent.pause_reason = None
            if agent.state == "paused":
                agent.state, agent.state_since = "ready", now
            return agent.interface

        interface = await self._in_transaction(ready)
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
