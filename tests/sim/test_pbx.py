"""SimulatedPBX over real TCP: sessions, actions, filters, and the calls they place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.sim.client import Client

from olive.clock import ScaledClock
from olive.sim import SimulatedPBX

FAST = 50.0  # simulated seconds per real second


@pytest.fixture
async def lab() -> AsyncIterator[SimulatedPBX]:
    pbx = SimulatedPBX("lab", clock=ScaledClock(FAST))
    await pbx.start()
    try:
        yield pbx
    finally:
        await pbx.stop()


async def logged_in(pbx: SimulatedPBX, events: str | None = "on") -> Client:
    assert pbx.port is not None
    client = await Client.connect(pbx.port)
    response = await client.login(events)
    assert response.response == "Success"
    return client


class TestSession:
    async def test_banner_is_asterisk_22s(self, lab: SimulatedPBX) -> None:
        assert lab.port is not None
        client = await Client.connect(lab.port)
        banner = await client.wait_for(lambda m: True)
        assert getattr(banner, "text", None) == "Asterisk Call Manager/11.0.0"

    async def test_login_then_fully_booted(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        booted = await client.event("FullyBooted")
        assert booted.get("Privilege") == "system,all"
        assert booted.get("Status") == "Fully Booted"
        await client.event("SuccessfulAuth", AccountID="olive")

    async def test_wrong_secret_is_refused_and_closed(self, lab: SimulatedPBX) -> None:
        assert lab.port is not None
        client = await Client.connect(lab.port)
        aid = client.send("Login", ("Username", "olive"), ("Secret", "nope"))
        response = await client.response(aid)
        assert (response.response, response.message) == ("Error", "Authentication failed")
        await asyncio.wait_for(client.closed.wait(), 5)

    async def test_actions_before_login_are_denied(self, lab: SimulatedPBX) -> None:
        assert lab.port is not None
        client = await Client.connect(lab.port)
        response = await client.response(client.send("Ping"))
        assert (response.response, response.message) == ("Error", "Permission denied")

    async def test_ping(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        response = await client.response(client.send("Ping"))
        assert response.response == "Success" and response.get("Ping") == "Pong"

    async def test_logoff_says_goodbye_and_closes(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        response = await client.response(client.send("Logoff"))
        assert (response.response, response.message) == ("Goodbye", "Thanks for all the fish.")
        await asyncio.wait_for(client.closed.wait(), 5)


class TestUnknownAndMalformed:
    async def test_unknown_action_gets_asterisks_error(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        response = await client.response(client.send("Frobnicate"))
        assert response.response == "Error"
        assert response.message == (
            "Invalid/unknown command: Frobnicate. Use Action: ListCommands to show available commands."
        )

    @pytest.mark.parametrize(
        "garbage",
        [
            b"no colon on this line\r\n\r\n",
            b"\x00\xff\xfe binary: \x80\x81\r\n\r\n",
            b"Foo: bar\r\n\r\n",
            b"Action: \r\n\r\n",
            b": empty name\r\n\r\n",
        ],
    )
    async def test_malformed_input_never_crashes_the_server(self, lab: SimulatedPBX, garbage: bytes) -> None:
        client = await logged_in(lab)
        client.send_raw(garbage)
        await client.wait_for(lambda m: getattr(m, "message", None) == "Missing action in request")
        response = await client.response(client.send("Ping"))
        assert response.get("Ping") == "Pong"

    async def test_an_endless_message_is_refused_and_the_session_goes_on(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        client.send_raw(b"Action: Ping\r\nX: " + b"y" * (1 << 21))
        await client.wait_for(lambda m: getattr(m, "message", None) == "Missing action in request", timeout=10)
        client.send_raw(b"\r\n\r\n")
        response = await client.response(client.send("Ping"))
        assert response.get("Ping") == "Pong"

    async def test_a_message_split_across_reads(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        data = b"Action: Ping\r\nActionID: split-1\r\n\r\n"
        for i in range(len(data)):
            client.send_raw(data[i : i + 1])
            await asyncio.sleep(0)
        response = await client.response("split-1")
        assert response.get("Ping") == "Pong"


class TestEventFilter:
    async def test_call_and_agent_classes_drop_dialplan_system_and_security(self, lab: SimulatedPBX) -> None:
        filtered = await logged_in(lab, "call,agent")
        everything = await logged_in(lab, "on")
        aid = everything.send(
            "Originate", ("Channel", "Local/5001@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("Async", "true"), ("Variable", "OLIVE_CALL_ID=x1"),
        )
        await everything.response(aid)
        await everything.event("OriginateResponse")
        await filtered.event("QueueCallerJoin")
        classes = {e.get("Privilege") for e in filtered.events()}
        assert classes <= {"call,all", "agent,all"}
        assert not filtered.events("VarSet") and not filtered.events("Newexten")
        assert not filtered.events("FullyBooted") and not filtered.events("SuccessfulAuth")
        assert everything.events("VarSet") and everything.events("Newexten")
        assert filtered.events("OriginateResponse") and filtered.events("Newchannel")

    async def test_events_off_sends_none(self, lab: SimulatedPBX) -> None:
        quiet = await logged_in(lab, "off")
        loud = await logged_in(lab, "on")
        await loud.response(loud.send(
            "Originate", ("Channel", "Local/2001@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("Async", "true"),
        ))
        await loud.event("OriginateResponse")
        await quiet.response(quiet.send("Ping"))
        assert quiet.events() == []


class TestOriginate:
    async def test_timeout_30_is_milliseconds_and_the_call_dies_ringing(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        await client.response(client.send(
            "Originate", ("Channel", "Local/1002@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("Timeout", "30"), ("Async", "true"),
        ))
        result = await client.event("OriginateResponse")
        assert (result.get("Response"), result.get("Reason"), result.get("Uniqueid")) == ("Failure", "3", "<unknown>")
        start = float(client.events("Newchannel")[0]["Timestamp"])
        assert 0.029 <= float(result["Timestamp"]) - start <= 0.031
        hangups = {e["Channel"][-2:]: e for e in client.events("Hangup")}
        assert {k: (e["Cause"], e["Cause-txt"]) for k, e in hangups.items()} == {
            ";1": ("19", "User alerting, no answer"), ";2": ("19", "User alerting, no answer"),
        }
        assert hangups[";1"]["ChannelStateDesc"] == "Ringing"
        assert not client.events("DialEnd")

    async def test_channel_id_names_both_legs_and_links_every_leg(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        await client.response(client.send(
            "Originate", ("Channel", "Local/2002@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("ChannelId", "call-7"), ("Async", "true"),
        ))
        result = await client.event("OriginateResponse")
        assert (result["Reason"], result["Uniqueid"]) == ("5", "call-7")
        ids = {e["Uniqueid"] for e in client.events("Newchannel")}
        assert ids == {"call-7", "call-7;2"}
        assert {e["Linkedid"] for e in client.events("Newchannel")} == {"call-7"}

    async def test_variables_are_set_on_both_local_legs(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        await client.response(client.send(
            "Originate", ("Channel", "Local/9001@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("ChannelId", "c8"), ("OtherChannelId", "c8-other"),
            ("Variable", "A=1"), ("Variable", "B=2"), ("Async", "true"),
        ))
        result = await client.event("OriginateResponse")
        assert (result["Response"], result["Reason"], result["Uniqueid"]) == ("Failure", "0", "c8")
        sets = [(e["Uniqueid"], e["Variable"], e["Value"]) for e in client.events("VarSet")]
        assert sets == [("c8", "B", "2"), ("c8", "A", "1"), ("c8-other", "A", "1"), ("c8-other", "B", "2")]

    async def test_every_originate_is_logged_once(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        for n in ("2001", "2002"):
            await client.response(client.send(
                "Originate", ("Channel", f"Local/{n}@customers"), ("Context", "dialer"), ("Exten", "s"),
                ("Priority", "1"), ("Async", "true"),
            ))
        originates = lab.actions_named("Originate")
        assert [a["Channel"] for a in originates] == ["Local/2001@customers", "Local/2002@customers"]

    async def test_synchronous_originate_answers_when_the_call_does(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        aid = client.send(
            "Originate", ("Channel", "Local/2001@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"),
        )
        response = await client.response(aid)
        assert (response.response, response.message) == ("Error", "Originate failed")
        assert client.events("Hangup") and not client.events("OriginateResponse")

    async def test_pjsip_sipp_busy_is_reason_0_with_cause_17(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        await client.response(client.send(
            "Originate", ("Channel", "PJSIP/2001@sipp"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("Async", "true"),
        ))
        result = await client.event("OriginateResponse")
        assert (result["Response"], result["Reason"], result["Channel"]) == ("Failure", "0", "PJSIP/2001@sipp")
        assert (await client.event("DialEnd"))["DialStatus"] == "BUSY"
        hangup = await client.event("Hangup")
        assert (hangup["Channel"][:11], hangup["Cause"], hangup["TechCause"]) == ("PJSIP/sipp-", "17", "486")

    async def test_an_agent_phone_can_be_originated(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        await client.response(client.send(
            "Originate", ("Channel", "PJSIP/101"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("Async", "true"),
        ))
        result = await client.event("OriginateResponse")
        assert (result["Response"], result["Reason"]) == ("Success", "4")
        assert result["Channel"].startswith("PJSIP/101-")

    async def test_originate_to_a_missing_extension_is_refused(self, lab: SimulatedPBX) -> None:
        client = await logged_in(lab)
        response = await client.response(client.send(
            "Originate", ("Channel", "Local/1001@customers"), ("Context", "nowhere"), ("Exten", "s"),
            ("Priority", "1"), ("Async", "true"),
        ))
        assert (response.response, response.message) == ("Error", "Extension does not exist.")
