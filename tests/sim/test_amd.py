"""AMD() in olive's shipped dialplan, as app_amd would run it, on the simulator."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from tests.sim.client import Client

from olive.clock import ScaledClock
from olive.sim import SimulatedPBX
from olive.sim._amd import AMD_SETTINGS, AmdSettings, user_event_headers
from olive.sim._scenario import AmdModel, ScenarioError, parse_scenario
from olive.sim._world import amd_verdict

FAST = 50.0


async def run_call(number: str, *variables: str, until: str = "Hangup") -> Client:
    """Originate one olive-test customer into olive-dialer; return the client once ``until`` came."""
    from tests.e2e.harness import SCENARIO

    pbx = SimulatedPBX(SCENARIO, clock=ScaledClock(FAST))
    port = await pbx.start()
    try:
        c = await Client.connect(port)
        await c.login("on")
        await c.response(c.send(
            "Originate", ("Channel", f"Local/{number}@olive-test-customers"), ("Context", "olive-amd"),
            ("Exten", "s"), ("Priority", "1"), ("ChannelId", "amd1"), ("Async", "true"),
            ("Variable", "OLIVE_QUEUE=olive-test"), ("Variable", "OLIVE_CONNECT_LIMIT=1"),
            *(("Variable", v) for v in variables),
        ))
        await c.event(until, timeout=30, Uniqueid="amd1")
        await c.close()
        return c
    finally:
        await pbx.stop()


def var(c: Client, name: str) -> tuple[str, float]:
    [event] = [e for e in c.events("VarSet") if e.get("Variable") == name and e.get("Uniqueid") == "amd1"]
    return event.get("Value") or "", float(event["Timestamp"])


def answered_at(c: Client) -> float:
    up = next(e for e in c.events("Newstate") if e.get("Uniqueid") == "amd1" and e.get("ChannelStateDesc") == "Up")
    return float(up["Timestamp"])


class TestLocalCustomers:
    """olive-test.conf's customers: what their dialplan plays is what AMD hears."""

    async def test_a_machine_greeting_is_machine_after_1500_ms_of_it_and_never_queued(self) -> None:
        c = await run_call("+12025559001", "OLIVE_AMD=hangup")
        status, at = var(c, "AMDSTATUS")
        assert status == "MACHINE"
        assert var(c, "AMDCAUSE")[0] == "LONGGREETING-1500-1500"
        # Answer() on the ;2 half waits 0.5 s for media (AMD sends none), vm-intro starts with
        # 0.22 s of silence, then 1.5 s of greeting (a real Asterisk 22: 2.22 s; transcript 24).
        assert at - answered_at(c) == pytest.approx(0.5 + 0.22 + 1.5, abs=0.05)
        [event] = c.events("UserEvent")
        assert (event["UserEvent"], event["Status"], event["Cause"], event["Action"]) == (
            "OliveAMD", "MACHINE", "LONGGREETING-1500-1500", "hangup")
        assert event["Uniqueid"] == "amd1" and event["Privilege"] == "user,all"
        assert not c.events("QueueCallerJoin")

    async def test_a_short_hello_is_human_800_ms_after_it_and_goes_to_the_queue(self) -> None:
        c = await run_call("+12025558001", "OLIVE_AMD=hangup", until="QueueCallerJoin")
        status, at = var(c, "AMDSTATUS")
        assert (status, var(c, "AMDCAUSE")[0]) == ("HUMAN", "HUMAN-800-800")
        # The media wait, hello-world's voice (1.33 s), 0.8 s of silence (a real Asterisk 22: 2.64 s; transcript 23).
        assert at - answered_at(c) == pytest.approx(0.5 + 1.33 + 0.8, abs=0.05)
        assert c.events("UserEvent")[0]["Status"] == "HUMAN"

    async def test_saying_nothing_is_a_machine_by_initial_silence(self) -> None:
        c = await run_call("+12025551001", "OLIVE_AMD=hangup")
        status, at = var(c, "AMDSTATUS")
        assert (status, var(c, "AMDCAUSE")[0]) == ("MACHINE", "INITIALSILENCE-2500-2500")
        # Silence is heard once Answer()'s 0.5 s media wait is over (a real Asterisk 22: 3.08 s; transcript 25).
        assert at - answered_at(c) == pytest.approx(0.5 + 2.5, abs=0.05)

    async def test_hanging_up_during_detection_is_hangup_and_the_dialplan_stops(self) -> None:
        c = await run_call("+12025555001", "OLIVE_AMD=hangup")
        assert var(c, "AMDSTATUS")[0] == "HANGUP"
        assert var(c, "AMDCAUSE")[0] == ""
        assert not c.events("UserEvent")  # the PBX ended before that priority

    async def test_message_waits_for_silence_after_the_beep_then_plays(self) -> None:
        c = await run_call("+12025559002", "OLIVE_AMD=message", "OLIVE_AMD_MESSAGE=acme/amd-message")
        wait, at = var(c, "WAITSTATUS")
        assert wait == "SILENCE"
        # 0.5 s media wait + 5.66 s greeting + 0.44 s beep, then 1.5 s of silence.
        assert at - answered_at(c) == pytest.approx(0.5 + 5.66 + 0.44 + 1.5, abs=0.05)
        assert var(c, "OLIVE_AMD_PLAYED")[0] == "SUCCESS"
        playback = [e for e in c.events("Newexten") if e.get("Application") == "Playback" and e.get("Uniqueid") == "amd1"]
        assert [e["AppData"] for e in playback] == ["acme/amd-message"]

    async def test_agent_action_sends_the_machine_to_the_queue(self) -> None:
        c = await run_call("+12025559003", "OLIVE_AMD=agent", until="QueueCallerJoin")
        assert var(c, "AMDSTATUS")[0] == "MACHINE"

    async def test_the_outcome_kept_in_astdb_carries_the_verdict(self) -> None:
        from tests.e2e.harness import SCENARIO

        pbx = SimulatedPBX(SCENARIO, clock=ScaledClock(FAST))
        port = await pbx.start()
        try:
            c = await Client.connect(port)
            await c.login("on")
            await c.response(c.send(
                "Originate", ("Channel", "Local/+12025559005@olive-test-customers"), ("Context", "olive-amd"),
                ("Exten", "s"), ("Priority", "1"), ("ChannelId", "amd1"), ("Async", "true"),
                ("Variable", "OLIVE_CALL_ID=amd1"), ("Variable", "OLIVE_QUEUE=olive-test"), ("Variable", "OLIVE_AMD=hangup"),
            ))
            await c.event("Hangup", timeout=30, Uniqueid="amd1")
            kind, interface, status, end, amd = pbx.core.astdb["olive-outcome/amd1"].split("|")
            assert (kind, interface, status, amd) == ("ABANDONED", "", "", "MACHINE")
            assert 0 < int(end) <= pbx.core.now  # ${EPOCH}: when it hung up
        finally:
            await pbx.stop()


class TestTrunkCustomers:
    def test_verdicts_follow_the_configured_accuracy(self) -> None:
        model = AmdModel(false_positive=0.1, false_negative=0.2)
        rng = random.Random(7)
        people = Counter(amd_verdict(model, machine=False, rng=rng)[0] for _ in range(5000))
        machines = Counter(amd_verdict(model, machine=True, rng=rng)[0] for _ in range(5000))
        assert people["MACHINE"] / 5000 == pytest.approx(0.1, abs=0.015)
        assert machines["HUMAN"] / 5000 == pytest.approx(0.2, abs=0.015)

    def test_causes_carry_app_amds_numbers(self) -> None:
        rng = random.Random(1)
        assert amd_verdict(AmdModel(), machine=True, rng=rng)[:2] == ("MACHINE", "LONGGREETING-1500-1500")
        assert amd_verdict(AmdModel(), machine=False, rng=rng)[:2] == ("HUMAN", "HUMAN-800-800")
        assert amd_verdict(AmdModel(false_positive=1.0), machine=False, rng=rng)[:2] == ("MACHINE", "MAXWORDS-3-3")
        assert amd_verdict(AmdModel(notsure=1.0), machine=True, rng=rng) == ("NOTSURE", "TOOLONG-5000", 5.0)

    async def test_a_population_machine_is_detected_and_left_a_message(self) -> None:
        from pathlib import Path

        scenario = parse_scenario({
            "pbx": {"sounds": {"default": 2.0}},
            "trunks": {"t": {"context": "x", "population": "p"}},
            "population": {"p": {"machine": 1.0, "answer_delay": 1, "talk": 10, "greeting": 6}},
        }, Path("."))
        pbx = SimulatedPBX(scenario, clock=ScaledClock(FAST))
        port = await pbx.start()
        try:
            c = await Client.connect(port)
            await c.login("on")
            await c.response(c.send(
                "Originate", ("Channel", "PJSIP/5550100@t"), ("Context", "olive-amd"), ("Exten", "s"),
                ("Priority", "1"), ("ChannelId", "amd1"), ("Async", "true"), ("Variable", "OLIVE_QUEUE=olive-sales"),
                ("Variable", "OLIVE_AMD=message"), ("Variable", "OLIVE_AMD_MESSAGE=acme/amd"),
            ))
            await c.event("Hangup", timeout=30, Uniqueid="amd1")
        finally:
            await pbx.stop()
        assert var(c, "AMDSTATUS")[0] == "MACHINE"
        # WaitForSilence: the 6 s greeting and its 0.5 s beep, then 1.5 s of silence.
        assert var(c, "WAITSTATUS")[1] - answered_at(c) == pytest.approx(8.0, abs=0.05)
        assert var(c, "OLIVE_AMD_PLAYED")[0] == "SUCCESS"


class TestConfig:
    def test_the_shipped_amd_conf_is_what_the_simulator_uses(self) -> None:
        from tests.sim.test_packaged_configs import DOCS, _sections

        [(name, values)] = _sections((DOCS / "amd.conf").read_text())
        assert name == "general"
        assert {k: int(v) for k, v in values.items()} == vars(AMD_SETTINGS)

    def test_arguments_override_the_settings_in_order(self) -> None:
        assert AMD_SETTINGS.with_args(["2000", "", "900"]) == AmdSettings(initial_silence=2000, after_greeting_silence=900)

    def test_user_event_body_is_key_colon_value_pairs(self) -> None:
        assert user_event_headers("OliveAMD,Status: MACHINE,Cause: , junk") == (
            "OliveAMD", [("Status", "MACHINE"), ("Cause", "")])
        assert user_event_headers("") is None

    def test_scenario_amd_table_is_checked(self) -> None:
        from pathlib import Path

        with pytest.raises(ScenarioError, match=r"amd\.false_positive"):
            parse_scenario({"amd": {"false_positive": 2}}, Path("."))
        with pytest.raises(ScenarioError, match=r"amd\.accuracy"):
            parse_scenario({"amd": {"accuracy": 0.9}}, Path("."))
