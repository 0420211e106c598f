"""The real engine, with the compliance guard, against the simulated Asterisk.

The simulator runs the dialplan and queues olive ships (docs/asterisk/), so
the 2-second rule is tested where it is enforced: inside Asterisk. One
:class:`~olive.clock.ScaledClock` starting at a chosen instant is shared by the
simulator and the engine, so a test can sit on a calling window's edge on a
given day; assertions are about what happened in that clock's time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from olive.ami import ServerConfig
from olive.clock import ScaledClock
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
SCALE = float(os.environ.get("OLIVE_TEST_SCALE", "20"))
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
    clock: ScaledClock
    pbx: Any
    server: ServerConfig
    engine: Engine | None = None
    guard: ComplianceGuard = field(default_factory=ComplianceGuard)

    async def start(self) -> Engine:
        self.engine = Engine(self.sessions, {"default": self.server}, clock=self.clock, guard=self.guard, tick_s=0.5)
        await self.engine.start()
        return self.engine

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None

    def now(self) -> float:
        return self.clock.now()

    async def until(self, predicate: Callable[[], bool], *, within_s: float, what: str) -> None:
        """Wait, in the shared clock's time, until ``predicate()`` holds."""
        deadline = self.clock.now() + within_s
        while not predicate():
            if self.clock.now() > deadline:
                raise AssertionError(f"not within {within_s:g} s: {what}")
            await asyncio.sleep(0.02)

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

    clock = ScaledClock(SCALE, start=start)
    pbx = SimulatedPBX(load_scenario(SCENARIO), clock=clock, username="olive", secret="olive-test")
    port = await pbx.start()
    return Rig(sessions, clock, pbx, ServerConfig("127.0.0.1", port, "olive", "olive-test"))


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
