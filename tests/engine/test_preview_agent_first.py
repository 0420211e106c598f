"""Preview mode's agent-first call across an olive restart: the engine and the simulated PBX in memory.

The new olive reads the open call from the store and knows it was placed agent first (its plan is
preview, its row names the agent it was placed for): a call already connected ends CONNECTED to that
agent, and one whose customer is still ringing ends NO_ANSWER, not ABANDONED as a customer call
whose channels olive finds up (the agent's) would.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from e2e.harness import agent_interface, make_campaign, number
from engine.memory import SERVER, InMemory
from olive import ami
from olive.ami import ServerConfig
from olive.compliance import AllowAll
from olive.engine import Engine
from olive.engine._persist import load_open_calls
from olive.store import Agent, transaction


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


@pytest.mark.parametrize(
    ("kind", "until", "outcome"),
    [
        (7, "connected", "CONNECTED"),  # answers after 1 s and stays 30 s: connected before the restart, over after
        (3, "ringing", "NO_ANSWER"),  # rings until the dial timeout (15 s), which comes after the restart
    ],
)
async def test_a_restart_keeps_the_agent_first_call_and_its_agent(mem: InMemory, kind: int, until: str, outcome: str) -> None:
    cid = make_campaign(mem.sessions, name="preview restart", contacts=[number(kind, 851)], agents=("801",), dial_mode="preview")
    with transaction(mem.sessions) as s:
        agent_id = s.scalars(select(Agent.id).where(Agent.interface == agent_interface("801"))).one()
    await mem.start()
    await mem.run_until(lambda: mem.engine.previews is not None and _offered(mem), within_s=10, what="a preview")
    call_id = await mem.engine.previews.dial(agent_id)
    if until == "connected":
        await mem.run_until(lambda: mem.calls(cid)[0].agent_connected_at is not None, within_s=20, what="connected")
    else:
        await mem.run_until(lambda: mem.calls(cid)[0].state == "ringing", within_s=20, what="the customer ringing")
        await mem.run_for(2)
    with transaction(mem.sessions) as s:
        [record] = [r for r in load_open_calls(s, "default") if r.call_id == call_id]
    assert record.agent_first == agent_interface("801")

    await mem.engine.stop()  # the call goes on in Asterisk
    engine = Engine(
        mem.sessions, {"default": SERVER}, clock=mem.clock, guard=AllowAll(), tick_s=mem.tick_s,
        client_factory=lambda name, config: _client(mem, name, config),
    )
    mem.engine = engine
    await mem.start()
    await mem.run_until(lambda: mem.calls(cid)[0].ended_at is not None, within_s=60, what="the call's end")
    call = mem.calls(cid)[0]
    assert (call.outcome, call.for_agent_id) == (outcome, agent_id)
    assert call.agent_interface == (agent_interface("801") if outcome == "CONNECTED" else None)


def _offered(mem: InMemory) -> bool:
    from olive.store import Preview

    with transaction(mem.sessions) as s:
        return s.scalars(select(Preview.id).where(Preview.status == "offered")).first() is not None


def _client(mem: InMemory, name: str, config: ServerConfig) -> ami.AMIClient:
    return ami.AMIClient(
        config.host, config.port, config.username, config.secret, events=config.events, name=name,
        connector=mem.pbx.connect_in_memory,
    )
