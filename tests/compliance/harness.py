"""The real engine, with the compliance guard, against the simulated Asterisk in memory.

The simulator runs the dialplan and queues olive ships (docs/asterisk/), so
the 2-second rule is tested where it is enforced: inside Asterisk. One
:class:`~olive.clock.ManualClock` starting at a chosen instant is shared by the
simulator and the engine (AMI over memory pipes, as in tests/engine/memory.py),
so a test can sit on a calling window's edge on a given day; time moves only as
the test steps it, one engine tick per step, so every figure is exact and every
run the same. (These ran over TCP on a 20x clock until issue 12; the engine's
TCP path is covered by tests/e2e.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from olive import ami
from olive.ami import ServerConfig
from olive.clock import ManualClock
from olive.compliance import ComplianceGuard
from olive.engine import Engine
from olive.specs import PlanSpec
from olive.store import (
    Agent,
    Call,
    Campaign,
    Contact,
    ContactRow,
    DialList,
    Plan,
    import_contacts,
    to_epoch,
    transaction,
)

SCENARIO = Path(__file__).with_name("compliance.toml")
TICK_S = 0.5  # the engine's tick period, and the step the tests move time by
QUEUE = "olive-sales"  # the queue docs/asterisk/queues.conf ships
FAST_RETRY = {k: {"max_attempts": 3, "delay_s": 60} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED", "CANCELLED")}


def epoch(value: datetime | None) -> float:
    assert value is not None
    return to_epoch(value)


def answering_agent(ext: str) -> str:
    return f"Local/{ext}@cc-agents"


def deaf_agent(ext: str) -> str:
    return f"Local/{ext}@cc-deaf-agents"


@dataclass
class Rig:
    sessions: sessionmaker[Session]
    clock: ManualClock
    pbx: Any
    server: ServerConfig
    engine: Engine | None = None
    guard: ComplianceGuard = field(default_factory=ComplianceGuard)

    def _client(self, name: str, config: ServerConfig) -> ami.AMIClient:
        return ami.AMIClient(
            config.host, config.port, config.username, config.secret, events=config.events, name=name,
            connector=self.pbx.connect_in_memory,
        )

    async def start(self) -> Engine:
        """Connect (the test steps the ticks) and wait until the link is ready."""
        self.engine = Engine(
            self.sessions, {"default": self.server}, clock=self.clock, guard=self.guard, tick_s=TICK_S,
            client_factory=self._client,
        )
        await self.engine.start(run=False)
        link = self.engine.links["default"]
        for _ in range(200):
            if link.ready:
                return self.engine
            await self.clock.settle()
        raise AssertionError(f"the link did not become ready: {link!r}")

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None

    def now(self) -> float:
        return self.clock.now()

    async def step(self) -> None:
        """One tick period of the shared clock, then one engine tick (none while olive is down)."""
        await self.clock.advance(TICK_S)
        if self.engine is not None:
            await self.engine.tick()

    async def run_for(self, seconds: float) -> None:
        for _ in range(math.ceil(seconds / TICK_S)):
            await self.step()

    async def until(self, predicate: Callable[[], bool], *, within_s: float, what: str) -> None:
        """Step the shared clock until ``predicate()`` holds."""
        deadline = self.clock.now() + within_s
        while not predicate():
            if self.clock.now() > deadline:
                raise AssertionError(f"not within {within_s:g} s: {what}")
            await self.step()

    def calls(self, campaign_id: str | None = None) -> list[Call]:
        with transaction(self.sessions) as s:
            statement = select(Call).order_by(Call.originated_at, Call.id)
            if campaign_id is not None:
                statement = statement.where(Call.campaign_id == campaign_id)
            return list(s.scalars(statement))

    def contacts(self, campaign_id: str) -> list[Contact]:
        with transaction(self.sessions) as s:
            campaign = s.get(Campaign, campaign_id)
            assert campaign is not None
            lists = select(DialList.id).join(Campaign.dial_lists).where(Campaign.id == campaign_id)
            return list(
                s.scalars(select(Contact).where(Contact.dial_list_id.in_(lists)).options(selectinload(Contact.numbers)).order_by(Contact.id))
            )

    def contact(self, contact_id: str) -> Contact:
        with transaction(self.sessions) as s:
            found = s.scalars(select(Contact).where(Contact.id == contact_id).options(selectinload(Contact.numbers))).one()
            return found

    def events(self, name: str) -> list[Any]:
        return [e for e in self.pbx.core.event_log if e.name == name]


async def start_rig(sessions: sessionmaker[Session], start: float) -> Rig:
    from olive.sim import SimulatedPBX, load_scenario

    clock = ManualClock(start)
    pbx = SimulatedPBX(load_scenario(SCENARIO), clock=clock, username="olive", secret="olive-test")
    await pbx.start_in_memory()
    return Rig(sessions, clock, pbx, ServerConfig("memory", 0, "olive", "olive-test"))


def make_campaign(
    sessions: sessionmaker[Session],
    *,
    name: str,
    contacts: Sequence[ContactRow],
    agents: Sequence[str],
    customers: str = "cc-short",
    profile: str = "us-tsr",
    schedule: dict[str, Any] | None = None,
    **plan: Any,
) -> tuple[str, list[str]]:
    """A running campaign on the test queue with ready agents; returns its id and its contact ids in order."""
    plan.setdefault("retry_rules", FAST_RETRY)
    spec = PlanSpec(channel_template=f"Local/{{number}}@{customers}", **{"dial_timeout_s": 20, **plan})
    with transaction(sessions) as s:
        plan_row = Plan(name=f"{name} plan", **spec.to_row())
        dial_list = DialList(name=f"{name} list")
        members = []
        for interface in agents:
            agent = s.scalars(select(Agent).where(Agent.interface == interface)).first()
            if agent is None:
                agent = Agent(name=f"agent {interface}", interface=interface, state="ready")
                s.add(agent)
            members.append(agent)
        s.add_all([plan_row, dial_list])
        s.flush()
        ids = import_contacts(s, dial_list.id, contacts)
        campaign = Campaign(
            name=name, status="running", plan=plan_row, queue=QUEUE, compliance_profile=profile,
            schedule=schedule, dial_lists=[dial_list], agents=members,
        )
        s.add(campaign)
        s.flush()
        return campaign.id, ids
