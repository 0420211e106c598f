"""The simulator plays each fault as Asterisk does: a restart, a swallowed action."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.sim.client import Client

from olive.clock import ScaledClock
from olive.sim import SimulatedPBX, load_scenario

FAST = 50.0


@pytest.fixture
async def lab() -> AsyncIterator[SimulatedPBX]:
    pbx = SimulatedPBX("lab", clock=ScaledClock(FAST))
    await pbx.start()
    try:
        yield pbx
    finally:
        await pbx.stop()


async def logged_in(pbx: SimulatedPBX) -> Client:
    assert pbx.port is not None
    client = await Client.connect(pbx.port)
    await client.response(client.send("Login", Username="olive", Secret="olive", Events="on"))
    return client


def answered_originate(client: Client, call_id: str) -> str:
    return client.send(
        "Originate", Channel="Local/1001@customers", Context="dialer", Exten="s", Priority="1",
        Timeout="30000", Async="true", ChannelId=call_id,
    )


class TestRestart:
    async def test_core_status_says_when_asterisk_started(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        first = await client.response(client.send("CoreStatus"))
        assert first.response == "Success"
        assert first.get("CoreStartupDate") and first.get("CoreStartupTime") and first.get("CoreCurrentCalls") == "0"
        await lab.clock.sleep(2.0)
        await lab.restart()
        again = await logged_in(lab)
        second = await again.response(again.send("CoreStatus"))
        assert (second.get("CoreStartupDate"), second.get("CoreStartupTime")) != (
            first.get("CoreStartupDate"), first.get("CoreStartupTime"),
        )

    async def test_restart_drops_sessions_channels_and_dynamic_members(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        queue = next(iter(lab.queues.queues))
        await client.response(client.send("QueueAdd", Queue=queue, Interface="Local/101@agents", MemberName="a101"))
        assert [m.interface for m in lab.queue_members(queue)] == ["Local/101@agents"]
        await client.response(answered_originate(client, "olive-restart-1"))
        await client.event("Newchannel", Uniqueid="olive-restart-1")
        assert lab.channels()
        await lab.clock.sleep(2.0)  # the old process's uptime is now 2 s longer than any since the restart
        restarted_at = lab.clock.now()
        await lab.restart(down_s=1.0)
        await asyncio.wait_for(client.closed.wait(), 5)
        assert lab.channels() == []
        assert lab.queue_members(queue) == []
        again = await logged_in(lab)
        booted = await again.event("FullyBooted")
        # Counted from the restart (however long a loaded machine took to log in again), not from the start.
        assert int(booted.get("Uptime") or "99") <= int(lab.clock.now() - restarted_at)
        # No Hangup for the vanished channels reaches anyone: nobody was connected.
        assert all(not (isinstance(m, type(booted)) and m.name == "Hangup") for m in again.messages)

    async def test_astdb_survives_a_restart(self, lab: SimulatedPBX) -> None:
        lab.astdb["olive/x"] = "1"
        await lab.restart()
        assert lab.astdb == {"olive/x": "1"}
        assert lab.core.astdb is lab.astdb


class TestSwallowedAction:
    async def test_no_response_and_nothing_done(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        lab.swallow("Originate")
        aid = answered_originate(client, "olive-lost-1")
        with pytest.raises(TimeoutError):
            await client.response(aid, timeout=0.5)
        assert lab.channels() == []
        # The next one is handled as usual.
        assert (await client.response(answered_originate(client, "olive-lost-2"))).response == "Success"

    async def test_acknowledged_but_never_placed(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        lab.swallow("Originate", acknowledge=True)
        response = await client.response(answered_originate(client, "olive-lost-3"))
        assert (response.response, response.message) == ("Success", "Originate successfully queued")
        await lab.clock.sleep(3.0)
        assert lab.channels() == []
        assert not any(getattr(m, "name", "") == "OriginateResponse" for m in client.messages)


E2E = Path(__file__).resolve().parents[1] / "e2e" / "e2e.toml"


async def test_the_hangup_handler_leaves_when_the_call_ended() -> None:
    """docs/asterisk's [olive-outcome] writes ${EPOCH} (whole Unix seconds, pbx_variables.c's
    time(NULL)) as the result's last field: the simulator expands it from its own clock."""
    pbx = SimulatedPBX(load_scenario(E2E), clock=ScaledClock(FAST), username="olive", secret="olive-test")
    await pbx.start()
    try:
        assert pbx.port is not None
        client = await Client.connect(pbx.port)
        await client.response(client.send("Login", Username="olive", Secret="olive-test", Events="on"))
        await client.response(client.send("QueueAdd", Queue="olive-test", Interface="Local/801@olive-test-agents"))
        pbx.pin_random("Local/+12025551001@olive-test-customers", 2, 5)
        call_id = "olive-epoch-1"
        await client.response(client.send(
            "Originate", ("Variable", f"OLIVE_CALL_ID={call_id}"), ("Variable", "OLIVE_QUEUE=olive-test"),
            Channel="Local/+12025551001@olive-test-customers", Context="olive-dialer", Exten="s", Priority="1",
            Timeout="30000", Async="true", ChannelId=call_id,
        ))
        await client.event("AgentConnect", timeout=5)
        hangup = await client.event("Hangup", timeout=5, Uniqueid=call_id)
        kind, agent, status, end = pbx.astdb[f"olive-outcome/{call_id}"].split("|")
        assert (kind, agent, status) == ("CONNECTED", "Local/801@olive-test-agents", "")
        assert int(end) == int(float(hangup.get("Timestamp") or "0"))
    finally:
        await pbx.stop()


class TestOddEvents:
    async def test_the_next_event_of_a_name_goes_out_changed_and_the_rest_as_ever(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        lab.odd_event("Newchannel", Timestamp="1e12", ChannelState="Up", Extra="1")
        await client.response(answered_originate(client, "olive-odd-1"))
        await client.event("OriginateResponse", timeout=5)
        first, *others = client.events("Newchannel")
        assert (first.get("Timestamp"), first.get("ChannelState"), first.get("Extra")) == ("1e12", "Up", "1")
        assert others and all(e.get("Timestamp") != "1e12" and e.get("Extra") is None for e in others)
        assert [n for n, _ in first.headers][:3] == ["Event", "Privilege", "Timestamp"]  # the order Asterisk sends

    async def test_a_field_can_go_missing(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        lab.odd_event("Newchannel", Uniqueid=None)
        await client.response(answered_originate(client, "olive-odd-2"))
        await client.event("OriginateResponse", timeout=5)
        first, second, *_ = client.events("Newchannel")
        assert first.get("Uniqueid") is None and second.get("Uniqueid") is not None

    async def test_a_late_event_comes_after_those_that_followed_it(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        lab.odd_event("Newchannel", delay_s=2.0)
        await client.response(answered_originate(client, "olive-odd-3"))
        late = await client.event("Newchannel", timeout=5, Uniqueid="olive-odd-3")
        events = client.events()
        assert events.index(late) > [m.name for m in events].index("DialBegin")
        assert float(late.get("Timestamp") or 0) < lab.clock.now() - 1.0, "stamped when it happened"

    async def test_an_extra_event(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        lab.send_event("ChannelTalkingStart", Channel="PJSIP/someone-00000042", Uniqueid="1.42", Linkedid="1.42")
        extra = await client.event("ChannelTalkingStart", timeout=5)
        assert extra.get("Linkedid") == "1.42" and extra.get("Timestamp")

    async def test_one_call_s_answer_repeated_and_contradicted(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        lab.odd_event("OriginateResponse", where={"Uniqueid": "olive-odd-5"}, then=[{}, {"Response": "Success", "Reason": "4"}])
        await client.response(answered_originate(client, "olive-odd-4"))
        await client.response(answered_originate(client, "olive-odd-5"))
        await client.event("OriginateResponse", timeout=5, Uniqueid="olive-odd-4")
        await client.wait_for(lambda m: len([e for e in client.events("OriginateResponse") if e.get("Uniqueid") == "olive-odd-5"]) == 3)
        fourth = [e for e in client.events("OriginateResponse") if e.get("Uniqueid") == "olive-odd-4"]
        fifth = [e for e in client.events("OriginateResponse") if e.get("Uniqueid") == "olive-odd-5"]
        assert len(fourth) == 1
        assert [e.get("Response") for e in fifth[:2]] == [fifth[0].get("Response")] * 2 and fifth[2].get("Reason") == "4"
