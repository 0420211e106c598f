"""Read() and SendDTMF() in olive's shipped [olive-broadcast], as app_read would run them, on the simulator."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from tests.sim.client import Client

from olive.clock import ScaledClock
from olive.sim import SimulatedPBX
from olive.sim._scenario import ScenarioError, parse_scenario

FAST = 50.0
CALL = "ivr1"
KEYS = ("OLIVE_MESSAGE=hello-world", "OLIVE_IVR_PROMPT=beep", "OLIVE_IVR_KEYS=19", "OLIVE_IVR_AGENT=1",
        "OLIVE_IVR_TIMEOUT=5", "OLIVE_QUEUE=olive-test", "OLIVE_CONNECT_LIMIT=2")


async def run(pbx: SimulatedPBX, channel: str, *variables: str, until: str = "Hangup", agent: str | None = None) -> Client:
    port = await pbx.start()
    try:
        c = await Client.connect(port)
        await c.login("on")
        if agent is not None:
            await c.response(c.send("QueueAdd", ("Queue", "olive-test"), ("Interface", agent)))
        await c.response(c.send(
            "Originate", ("Channel", channel), ("Context", "olive-broadcast"), ("Exten", "s"), ("Priority", "1"),
            ("ChannelId", CALL), ("Async", "true"), ("Variable", f"OLIVE_CALL_ID={CALL}"),
            *(("Variable", v) for v in variables),
        ))
        await c.event(until, timeout=30, Uniqueid=CALL)
        await c.close()
        return c
    finally:
        await pbx.stop()


async def run_local(number: str, *variables: str, until: str = "Hangup", agent: str | None = None) -> Client:
    from tests.e2e.harness import SCENARIO

    return await run(SimulatedPBX(SCENARIO, clock=ScaledClock(FAST)), f"Local/{number}@olive-test-customers",
                     *variables, until=until, agent=agent)


def var(c: Client, name: str) -> tuple[str, float] | None:
    found = [e for e in c.events("VarSet") if e.get("Variable") == name and e.get("Uniqueid") == CALL]
    if not found:
        return None
    return found[-1].get("Value") or "", float(found[-1]["Timestamp"])


def answered_at(c: Client) -> float:
    up = next(e for e in c.events("Newstate") if e.get("Uniqueid") == CALL and e.get("ChannelStateDesc") == "Up")
    return float(up["Timestamp"])


class TestLocalCustomers:
    """olive-test.conf's 01xx press 1, 09xx press 9, 00xx press nothing, 3 s after answering."""

    async def test_pressing_9_is_read_reported_and_the_call_ends(self) -> None:
        c = await run_local("+12025550901", *KEYS)
        assert var(c, "OLIVE_AGENTLESS") is not None
        key = var(c, "OLIVE_KEY")
        assert key is not None and key[0] == "9"
        assert var(c, "READSTATUS") is not None and var(c, "READSTATUS")[0] == "OK"  # type: ignore[index]
        # The ;2 half's Answer() waits for the first frame, Wait(3), then a 100 ms key.
        assert key[1] - answered_at(c) == pytest.approx(3.1, abs=0.1)
        [event] = c.events("UserEvent")
        assert (event["UserEvent"], event["Key"], event["Status"]) == ("OliveIVR", "9", "OK")
        assert not c.events("QueueCallerJoin")
        read = [e for e in c.events("Newexten") if e.get("Application") == "Read" and e.get("Uniqueid") == CALL]
        assert [e["AppData"] for e in read] == ["OLIVE_KEY,hello-world&beep,1,,1,5"]

    async def test_pressing_1_joins_the_queue_when_an_agent_is_ready(self) -> None:
        c = await run_local("+12025550101", *KEYS, until="QueueCallerJoin", agent="Local/801@olive-test-agents")
        assert var(c, "OLIVE_KEY")[0] == "1"  # type: ignore[index]
        assert c.events("UserEvent")[0]["Key"] == "1"
        assert var(c, "OLIVE_AGENTS_READY")[0] == "1"  # type: ignore[index]

    async def test_pressing_1_with_no_agent_ready_plays_the_drop_message_and_ends(self) -> None:
        c = await run_local("+12025550101", *KEYS, "OLIVE_DROP_MESSAGE=sorry")
        assert var(c, "OLIVE_AGENTS_READY")[0] == "0"  # type: ignore[index]
        assert not c.events("QueueCallerJoin")
        assert var(c, "OLIVE_DROP_PLAYED")[0] == "SUCCESS"  # type: ignore[index]

    async def test_no_key_times_out_after_the_recordings_and_the_timeout(self) -> None:
        c = await run_local("+12025550001", *KEYS)
        status = var(c, "READSTATUS")
        assert status is not None and status[0] == "TIMEOUT"
        assert var(c, "OLIVE_KEY")[0] == ""  # type: ignore[index]
        # hello-world (1.42 s) and beep (0.44 s) as recorded on Asterisk 22, then 5 s for a key.
        assert status[1] - answered_at(c) == pytest.approx(1.42 + 0.44 + 5, abs=0.1)
        assert c.events("UserEvent")[0]["Status"] == "TIMEOUT"

    async def test_without_keys_the_message_just_plays(self) -> None:
        c = await run_local("+12025550101", "OLIVE_MESSAGE=hello-world", "OLIVE_QUEUE=olive-test")
        assert var(c, "OLIVE_MESSAGE_PLAYED")[0] == "SUCCESS"  # type: ignore[index]
        assert var(c, "OLIVE_KEY") is None and not c.events("UserEvent")  # its key fell on no Read()

    async def test_hanging_up_during_read_is_hangup_and_the_dialplan_stops(self) -> None:
        # 5xxx hang up 0.7 s after answering, during the 1.3 s of recordings.
        c = await run_local("+12025555001", *KEYS)
        assert var(c, "READSTATUS")[0] == "HANGUP"  # type: ignore[index]
        assert var(c, "OLIVE_KEY")[0] == ""  # type: ignore[index]
        assert not c.events("UserEvent")

    async def test_the_outcome_kept_in_astdb_carries_agentless_and_the_key(self) -> None:
        from tests.e2e.harness import SCENARIO

        pbx = SimulatedPBX(SCENARIO, clock=ScaledClock(FAST))
        await run(pbx, "Local/+12025550902@olive-test-customers", *KEYS)
        kind, interface, status, end, amd, agentless, key = pbx.core.astdb[f"olive-outcome/{CALL}"].split("|")
        assert (kind, interface, status, amd, agentless, key) == ("ABANDONED", "", "", "", "yes", "9")
        assert 0 < int(end) <= pbx.core.now


def trunk_scenario(**ivr: object) -> dict[str, object]:
    return {
        "pbx": {"sounds": {"default": 2.0}},
        "trunks": {"t": {"context": "x", "population": "p"}},
        "population": {"p": {"answer": 1.0, "answer_delay": 1, "talk": 10}},
        "ivr": ivr,
    }


class TestTrunkCustomers:
    async def test_a_person_presses_the_drawn_key_after_its_delay(self) -> None:
        scenario = parse_scenario(trunk_scenario(keys={"9": 1.0}, delay=1.5), Path("."))
        c = await run(SimulatedPBX(scenario, clock=ScaledClock(FAST)), "PJSIP/5550100@t",
                      "OLIVE_MESSAGE=acme/offer", "OLIVE_IVR_KEYS=19", "OLIVE_IVR_TIMEOUT=4")
        key = var(c, "OLIVE_KEY")
        assert key is not None and key[0] == "9"
        # A key during the 2 s message interrupts it.
        assert key[1] - answered_at(c) == pytest.approx(1.5, abs=0.05)

    def test_the_shares_of_keys_are_the_scenarios(self) -> None:
        from olive.sim._dial import Target
        from olive.sim._world import World

        scenario = parse_scenario(trunk_scenario(keys={"1": 0.2, "9": 0.1}), Path("."))
        world = World(scenario, seed=3)
        keys: Counter[str | None] = Counter()
        for i in range(4000):
            target = Target("PJSIP", f"555{i:04d}@t", f"555{i:04d}", "t")
            b = world.customer(target, world.rng_for_dial(target))
            assert b is not None
            keys[b.key] += 1
        assert keys["1"] / 4000 == pytest.approx(0.2, abs=0.02)
        assert keys["9"] / 4000 == pytest.approx(0.1, abs=0.015)
        assert keys[None] / 4000 == pytest.approx(0.7, abs=0.02)

    def test_the_ivr_table_is_checked(self) -> None:
        with pytest.raises(ScenarioError, match=r"ivr\.keys\.12"):
            parse_scenario({"ivr": {"keys": {"12": 0.1}}}, Path("."))
        with pytest.raises(ScenarioError, match=r"ivr\.keys"):
            parse_scenario({"ivr": {"keys": {"1": 0.7, "9": 0.6}}}, Path("."))
        with pytest.raises(ScenarioError, match=r"ivr\.press"):
            parse_scenario({"ivr": {"press": 1}}, Path("."))


class TestQueueMember:
    async def test_counts_as_app_queue_does(self) -> None:
        from tests.e2e.harness import SCENARIO

        pbx = SimulatedPBX(SCENARIO, clock=ScaledClock(FAST))
        port = await pbx.start()
        try:
            c = await Client.connect(port)
            await c.login("on")
            for iface, paused in (("Local/801@olive-test-agents", "false"), ("Local/802@olive-test-agents", "true")):
                await c.response(c.send("QueueAdd", ("Queue", "olive-test"), ("Interface", iface), ("Paused", paused)))
            await c.close()
            counts = {opt: pbx.queue_member(["olive-test", opt]) for opt in ("count", "logged", "free", "ready", "penalty")}
            assert counts == {"count": "2", "logged": "2", "free": "1", "ready": "1", "penalty": ""}
            assert pbx.queue_member(["no-such-queue", "ready"]) == ""
        finally:
            await pbx.stop()
