"""The simulator's Asterisk restart against the recorded one (transcript 21_core_restart_now).

A restart cannot be replayed on one running simulator like the call recordings
(tests/sim/test_conformance.py), so the same session is played here and its
messages compared with the recording's: what a connected client sees when
``core restart now`` runs (a Shutdown event, then the connection closes), and
what it finds after logging in again (FullyBooted with Uptime 0, a new
CoreStartupTime, the dynamic member gone, the queue's counters reset).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.sim.client import Client
from tests.sim.replay import SCENARIOS
from tests.support.transcripts import Entry, load

from olive.ami import Event, Response
from olive.clock import ScaledClock
from olive.sim import SimulatedPBX, load_scenario

NAME = "21_core_restart_now"
QUEUE, AGENT = "olive-test", "Local/101@olive-test-agents"


def recorded() -> tuple[list[Entry], list[Entry]]:
    """The recording's messages received before and after the restart (split at the second banner)."""
    received = load(NAME).received()
    banners = [i for i, e in enumerate(received) if e.is_banner]
    assert len(banners) == 2, "the recording holds two sessions"
    return received[: banners[1]], received[banners[1]:]


def recorded_named(entries: list[Entry], name: str) -> Entry:
    return next(e for e in entries if e.get("Event") == name)


def recorded_core_status(entries: list[Entry]) -> Entry:
    return next(e for e in entries if e.get("CoreStartupTime") is not None)


def names_of(headers: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> list[str]:
    # Privilege and Timestamp are per-event metadata; ActionID is the recorder's own.
    return [n for n, _ in headers if n not in ("Privilege", "Timestamp", "ActionID")]


@pytest.fixture
async def pbx() -> AsyncIterator[SimulatedPBX]:
    scenario, _ = SCENARIOS[2]
    sim = SimulatedPBX(load_scenario(scenario), clock=ScaledClock(20.0))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def session(sim: SimulatedPBX) -> Client:
    assert sim.port is not None
    client = await Client.connect(sim.port)
    await client.login()
    return client


async def test_a_connected_client_sees_shutdown_then_the_connection_closes(pbx: SimulatedPBX) -> None:
    before, _ = recorded()
    shutdown = recorded_named(before, "Shutdown")
    client = await session(pbx)
    await client.response(client.send("QueueAdd", Queue=QUEUE, Interface=AGENT, MemberName="agent101"))
    await pbx.restart()
    await asyncio.wait_for(client.closed.wait(), 5)
    events = client.events("Shutdown")
    assert len(events) == 1, "core restart now announces itself to every AMI session before closing it"
    assert names_of(events[0].headers) == names_of(shutdown.headers())
    assert (events[0].get("Shutdown"), events[0].get("Restart")) == (shutdown.get("Shutdown"), shutdown.get("Restart"))
    assert client.messages[-1] is events[0], "nothing follows Shutdown on the old connection"


async def test_a_crash_closes_the_connection_without_shutdown(pbx: SimulatedPBX) -> None:
    client = await session(pbx)
    await pbx.restart(clean=False)
    await asyncio.wait_for(client.closed.wait(), 5)
    assert client.events("Shutdown") == []


async def test_core_status_and_queue_status_as_recorded_across_the_restart(pbx: SimulatedPBX) -> None:
    before, after = recorded()
    client = await session(pbx)
    await client.response(client.send("QueueAdd", Queue=QUEUE, Interface=AGENT, MemberName="agent101"))
    first = await client.response(client.send("CoreStatus"))
    assert names_of(first.headers) == names_of(recorded_core_status(before).headers())
    await pbx.clock.sleep(2.0)
    await pbx.restart()
    again = await session(pbx)
    booted = await again.event("FullyBooted")
    assert (booted.get("Uptime"), booted.get("LastReload")) == (
        recorded_named(after, "FullyBooted").get("Uptime"), recorded_named(after, "FullyBooted").get("LastReload"),
    )
    second = await again.response(again.send("CoreStatus"))
    real_before, real_after = recorded_core_status(before), recorded_core_status(after)
    assert names_of(second.headers) == names_of(real_after.headers())
    # What olive compares to tell a restart: the start time changes, as it did on the real one.
    assert real_before.get("CoreStartupTime") != real_after.get("CoreStartupTime")
    assert (second.get("CoreStartupDate"), second.get("CoreStartupTime")) != (
        first.get("CoreStartupDate"), first.get("CoreStartupTime"),
    )
    assert second.get("CoreProcessedCalls") == real_after.get("CoreProcessedCalls") == "0"
    aid = again.send("QueueStatus", Queue=QUEUE)
    await again.event("QueueStatusComplete", ActionID=aid)
    listed = [m for m in again.messages if isinstance(m, (Event, Response)) and m.action_id == aid]
    recorded_list = [e for e in after if e.get("ActionID") == next(
        x.get("ActionID") for x in after if x.get("Event") == "QueueStatusComplete")]
    assert [getattr(m, "name", "Response") for m in listed] == [e.get("Event") or "Response" for e in recorded_list]
    params = next(m for m in listed if isinstance(m, Event) and m.name == "QueueParams")
    real_params = next(e for e in recorded_list if e.get("Event") == "QueueParams")
    for counter in ("Calls", "Holdtime", "TalkTime", "Completed", "Abandoned"):
        assert params.get(counter) == real_params.get(counter) == "0", counter


async def test_core_restart_now_hangs_up_every_call_and_keeps_its_result(pbx: SimulatedPBX) -> None:
    """Transcript 22: the calls end visibly (their hangup handlers run) before Shutdown."""
    t = load("22_core_restart_with_a_call_up")
    shutdown_at = next(i for i, e in enumerate(t.received()) if e.get("Event") == "Shutdown")
    real_hangups = [e for e in t.received()[:shutdown_at] if e.get("Event") == "Hangup"]
    assert len(real_hangups) == 4, "both legs of the customer and of the agent"
    real_value = next(e.get("Val") for e in t.received() if e.get("Event") == "DBGetResponse")
    call_id = "olive-c22-0001"
    client = await session(pbx)
    await client.response(client.send("QueueAdd", Queue=QUEUE, Interface=AGENT, MemberName="agent101"))
    variables = [("Variable", v) for v in (f"OLIVE_CALL_ID={call_id}", f"OLIVE_QUEUE={QUEUE}", "OLIVE_CONNECT_LIMIT=2")]
    await client.response(client.send(
        "Originate", *variables, Channel="Local/+12025551001@olive-test-customers", Context="olive-dialer",
        Exten="s", Priority="1", Timeout="30000", Async="true", ChannelId=call_id,
    ))
    await client.event("AgentConnect", timeout=10)
    restart = asyncio.create_task(pbx.restart())
    await client.event("Hangup", timeout=5)
    # As Asterisk shuts down, manager.c refuses every action, as it did the recorder's.
    real_refusals = [e for e in t.received() if e.get("Response") == "Error"]
    assert {e.get("Message") for e in real_refusals} == {"Asterisk is shutting down"}
    refused = await client.response(client.send("Ping"))
    assert (refused.response, refused.message) == ("Error", "Asterisk is shutting down")
    await restart
    await asyncio.wait_for(client.closed.wait(), 5)
    names = [m.name for m in client.events()]
    assert "Shutdown" in names
    # ast_softhangup_all() first: a SoftHangupRequest with Cause 4 (AST_SOFTHANGUP_SHUTDOWN) on every
    # channel, before any of them hangs up.
    real_soft = [e.get("Cause") for e in t.received()[:shutdown_at] if e.get("Event") == "SoftHangupRequest"]
    seen_soft = [m.get("Cause") for m in client.events("SoftHangupRequest")]
    assert real_soft[:4] == ["4"] * 4 and seen_soft[:4] == ["4"] * 4
    assert names.index("Hangup") > max(i for i, n in enumerate(names[: names.index("Hangup")]) if n == "SoftHangupRequest")
    assert pbx.shutdown_began_at is not None and pbx.shutdown_event_at is not None
    assert pbx.shutdown_event_at - pbx.shutdown_began_at >= 1.0  # 1.1 s in the recording
    seen_hangups = [m for m in client.events("Hangup")]
    assert len(seen_hangups) == len(real_hangups)
    assert names.index("Shutdown") > max(i for i, n in enumerate(names) if n == "Hangup")
    assert "HangupHandlerRun" in names
    again = await session(pbx)
    aid = again.send("DBGet", Family="olive-outcome", Key=call_id)
    item = await again.event("DBGetResponse", ActionID=aid)
    assert item.get("Val") == real_value == "CONNECTED|Local/101@olive-test-agents|"
