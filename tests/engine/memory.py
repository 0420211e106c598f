"""The engine against the simulated PBX in memory, on a manual clock: no socket, no wall clock.

The PBX serves AMI over memory pipes (``SimulatedPBX.start_in_memory``); the
engine's AMI client connects through ``connect_in_memory``; one ``ManualClock``
drives both. A test advances time tick by tick and the engine ticks after each
step, so every duration the engine records is exact and every run the same.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import SCENARIO
from olive import ami
from olive.ami import ServerConfig
from olive.clock import ManualClock
from olive.compliance import AllowAll, DialGuard
from olive.engine import Engine, campaign_report
from olive.engine._report import CampaignReport
from olive.sim import SimulatedPBX, load_scenario
from olive.store import Call, transaction

SERVER = ServerConfig(host="memory", port=0, username="olive", secret="olive-test")


@dataclass
class InMemory:
    sessions: sessionmaker[Session]
    clock: ManualClock
    pbx: SimulatedPBX
    engine: Engine
    tick_s: float = 0.5

    @classmethod
    async def create(
        cls, sessions: sessionmaker[Session], *, guard: DialGuard | None = None, tick_s: float = 0.5, seed: int | None = None
    ) -> InMemory:
        clock = ManualClock()
        pbx = SimulatedPBX(load_scenario(SCENARIO), clock=clock, username="olive", secret="olive-test", seed=seed)
        await pbx.start_in_memory()

        def client(name: str, config: ServerConfig) -> ami.AMIClient:
            return ami.AMIClient(
                config.host, config.port, config.username, config.secret, events=config.events, name=name,
                connector=pbx.connect_in_memory,
            )

        engine = Engine(
            sessions, {"default": SERVER}, clock=clock, guard=guard or AllowAll(), tick_s=tick_s, client_factory=client
        )
        return cls(sessions, clock, pbx, engine, tick_s)

    async def start(self) -> None:
        """Connect (the engine's loop is not started: the test ticks) and wait until the link is ready."""
        await self.engine.start(run=False)
        link = self.engine.links["default"]
        for _ in range(200):
            if link.ready:
                return
            await self.clock.settle()
        raise AssertionError(f"the link did not become ready: {link!r}")

    async def stop(self) -> None:
        await self.engine.stop()
        await self.pbx.stop()

    async def step(self) -> None:
        """One tick period of virtual time, then one engine tick."""
        await self.clock.advance(self.tick_s)
        await self.engine.tick()

    async def run_for(self, seconds: float) -> None:
        for _ in range(math.ceil(seconds / self.tick_s)):
            await self.step()

    async def run_until(self, predicate: Callable[[], bool], *, within_s: float, what: str) -> None:
        deadline = self.clock.now() + within_s
        while not predicate():
            if self.clock.now() > deadline:
                raise AssertionError(f"not within {within_s:g} s of virtual time: {what}")
            await self.step()

    def report(self, campaign_id: str) -> CampaignReport:
        with transaction(self.sessions) as s:
            return campaign_report(s, campaign_id, self.clock.now(), self.engine)

    async def finish(self, campaign_id: str, *, within_s: float = 3600.0) -> CampaignReport:
        # The engine's own word (set when it commits the finish): no report query per tick.
        finished = lambda: (self.engine.note(campaign_id) or "").startswith("finished")  # noqa: E731
        await self.run_until(finished, within_s=within_s, what="campaign finished")
        report = self.report(campaign_id)
        assert report.status == "finished", report
        return report

    def calls(self, campaign_id: str) -> list[Call]:
        with transaction(self.sessions) as s:
            return list(s.scalars(select(Call).where(Call.campaign_id == campaign_id).order_by(Call.originated_at)))


@pytest.fixture
async def mem(session_factory: sessionmaker[Session], db_clean: SAEngine) -> AsyncIterator[InMemory]:
    """olive's engine and the simulated PBX in one process on a manual clock, allow-all guard;
    a module that needs another set-up (a guard, a tick period) defines its own ``mem``.
    tests/engine and tests/faults import it into their conftest."""
    m = await InMemory.create(session_factory)
    yield m
    await m.stop()
