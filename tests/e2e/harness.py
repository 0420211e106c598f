"""Running the real olive engine against an Asterisk over TCP: the simulator, or a real one.

``OLIVE_TEST_AMI=host:port:user:secret`` points the suite at a real Asterisk
configured from docs/asterisk/ (extensions.conf, olive-test.conf, queues.conf);
otherwise each test starts olive's simulated PBX on 127.0.0.1 running that same
dialplan, with a clock ``OLIVE_TEST_SCALE`` (default 40) times faster than real
time shared by the simulator and the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from olive import ami
from olive.ami import ServerConfig
from olive.clock import Clock, ScaledClock, SystemClock
from olive.compliance import AllowAll, DialGuard
from olive.engine import Engine, campaign_report
from olive.engine._report import CampaignReport
from olive.specs import PlanSpec
from olive.store import (
    Agent,
    Call,
    Campaign,
    ContactRow,
    DialList,
    Plan,
    import_contacts,
    transaction,
)

SCENARIO = Path(__file__).with_name("e2e.toml")
REAL_AMI = os.environ.get("OLIVE_TEST_AMI")
SCALE = 1.0 if REAL_AMI else float(os.environ.get("OLIVE_TEST_SCALE", "40"))
CUSTOMERS = "Local/{number}@olive-test-customers"
QUEUE = "olive-test"


def agent_interface(ext: str) -> str:
    return f"Local/{ext}@olive-test-agents"


def number(kind: int, n: int) -> str:
    """A test number: kind 1 answers, 2 busy, 3 no answer, 4 congestion, 5 hangs up at once,
    6 does not exist, 7 answers and waits 30 s (see docs/asterisk/olive-test.conf)."""
    return f"+1202555{kind}{n:03d}"


#: One try per outcome: each test number's outcome shows once.
ONCE = {k: {"max_attempts": 1, "delay_s": 60} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED", "CANCELLED")}
#: A number of each kind and the outcome it must get (docs/asterisk/olive-test.conf).
EVERY_OUTCOME = {
    number(1, 1): "CONNECTED",
    number(2, 1): "BUSY",
    number(3, 1): "NO_ANSWER",
    number(4, 1): "CONGESTION",
    number(5, 1): "ABANDONED",
    number(6, 1): "INVALID_NUMBER",
}


@dataclass
class Target:
    clock: Clock
    server: ServerConfig
    pbx: Any = None  # the SimulatedPBX, when simulated

    @property
    def simulated(self) -> bool:
        return self.pbx is not None


async def start_target() -> Target:
    if REAL_AMI:
        host, port, user, secret = REAL_AMI.split(":", 3)
        return Target(SystemClock(), ServerConfig(host, int(port), user, secret))
    from olive.sim import SimulatedPBX, load_scenario

    clock = ScaledClock(SCALE)
    pbx = SimulatedPBX(load_scenario(SCENARIO), clock=clock, username="olive", secret="olive-test")
    port = await pbx.start()
    return Target(clock, ServerConfig("127.0.0.1", port, "olive", "olive-test"), pbx)


@contextlib.asynccontextmanager
async def second_simulator(target: Target) -> AsyncIterator[Any]:
    """Another simulated Asterisk (the same scenario) on ``target``'s clock: a second server."""
    from olive.sim import SimulatedPBX, load_scenario

    pbx = SimulatedPBX(load_scenario(SCENARIO), clock=target.clock, username="olive", secret="olive-test")
    await pbx.start()
    try:
        yield pbx
    finally:
        await pbx.stop()


async def stop_target(target: Target) -> None:
    if target.pbx is not None:
        await target.pbx.stop()


async def _ami(target: Target) -> ami.AMIClient:
    s = target.server
    client = ami.AMIClient(s.host, s.port, s.username, s.secret, events="off", name="e2e-queue")
    await client.connect()
    return client


async def queue_members(target: Target, queue: str = QUEUE) -> set[str]:
    """The interfaces Asterisk has in ``queue`` right now (QueueStatus)."""
    client = await _ami(target)
    try:
        _, items = await client.send_list_action(ami.action("QueueStatus", Queue=queue), timeout=10)
    finally:
        await client.close()
    return {e.get("Location") or "" for e in items if e.name == "QueueMember" and e.get("Queue") == queue}


async def remove_members(target: Target, interfaces: set[str], queue: str = QUEUE) -> None:
    """Leave the queue as the test found it: QueueRemove what the test added."""
    if not interfaces:
        return
    client = await _ami(target)
    try:
        for interface in sorted(interfaces):
            await client.send_action(ami.action("QueueRemove", Queue=queue, Interface=interface), check=False, timeout=10)
    finally:
        await client.close()


def make_campaign(
    sessions: sessionmaker[Session],
    *,
    name: str,
    contacts: Sequence[Sequence[str] | str],
    agents: Sequence[str] = ("101", "102"),
    profile: str = "us-tsr",
    status: str = "running",
    **plan: Any,
) -> str:
    """A campaign on the test queue, its plan, dial list, contacts and logged-in agents."""
    spec = PlanSpec(**{"channel_template": CUSTOMERS, "dial_timeout_s": 15, **plan})
    with transaction(sessions) as s:
        plan_row = Plan(name=f"{name} plan", **spec.to_row())
        dial_list = DialList(name=f"{name} list")
        members = []
        for ext in agents:
            agent = s.scalars(select(Agent).where(Agent.interface == agent_interface(ext))).first()
            if agent is None:
                agent = Agent(name=f"agent{ext}", interface=agent_interface(ext), state="ready")
                s.add(agent)
            members.append(agent)
        s.add_all([plan_row, dial_list])
        s.flush()
        rows = [ContactRow(numbers=(c,) if isinstance(c, str) else tuple(c)) for c in contacts]
        import_contacts(s, dial_list.id, rows)
        campaign = Campaign(
            name=name, status=status, plan=plan_row, queue=QUEUE, compliance_profile=profile,
            dial_lists=[dial_list], agents=members,
        )
        s.add(campaign)
        s.flush()
        return campaign.id


@dataclass
class Olive:
    """One olive engine on one database, against the target."""

    sessions: sessionmaker[Session]
    target: Target
    guard: DialGuard = field(default_factory=AllowAll)
    engine: Engine | None = None

    async def start(self) -> Engine:
        self.engine = Engine(
            self.sessions, {"default": self.target.server}, clock=self.target.clock, guard=self.guard, tick_s=0.5
        )
        await self.engine.start()
        return self.engine

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()

    def report(self, campaign_id: str) -> CampaignReport:
        with transaction(self.sessions) as s:
            return campaign_report(s, campaign_id, self.target.clock.now(), self.engine)

    async def until(self, predicate: Any, *, within_s: float, what: str) -> None:
        """Wait (in the target's time) until ``predicate()`` holds."""
        deadline = self.target.clock.now() + within_s
        while not predicate():
            if self.target.clock.now() > deadline:
                raise AssertionError(f"not within {within_s:g} s: {what}")
            await asyncio.sleep(0.02)

    async def finish(self, campaign_id: str, *, within_s: float = 600.0) -> CampaignReport:
        # The engine's own word (set when it commits the finish) at every poll, the campaign
        # report only every 25th: a report every 20 ms took CPU from the engine it waited for.
        polls = itertools.count(1)

        def finished() -> bool:
            if self.engine is not None and (self.engine.note(campaign_id) or "").startswith("finished"):
                return True
            return next(polls) % 25 == 0 and self.report(campaign_id).status == "finished"

        await self.until(finished, within_s=within_s, what="campaign finished")
        report = self.report(campaign_id)
        assert report.status == "finished", report
        return report

    def calls(self, campaign_id: str) -> list[Call]:
        with transaction(self.sessions) as s:
            return list(s.scalars(select(Call).where(Call.campaign_id == campaign_id).order_by(Call.originated_at)))
