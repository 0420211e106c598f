"""The simulator's Dial() where no recording reaches: a PJSIP trunk destination, several destinations.

Transcripts 27-33 (replayed by test_conformance.py) cover Dial() to one Local destination on a
real Asterisk 22.10.1; these run [olive-preview] on the e2e scenario's simulated PBX over TCP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.sim.client import Client

from olive.clock import ScaledClock
from olive.sim import SimulatedPBX, load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "e2e" / "e2e.toml"
AGENT = "Local/801@olive-test-agents"


@pytest.fixture
async def pbx() -> AsyncIterator[SimulatedPBX]:
    sim = SimulatedPBX(load_scenario(SCENARIO), clock=ScaledClock(50.0), username="olive", secret="olive")
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def _preview(pbx: SimulatedPBX, dial: str, call_id: str) -> Client:
    assert pbx.port is not None
    c = await Client.connect(pbx.port)
    await c.login("on")
    variables = [f"OLIVE_CALL_ID={call_id}", f"OLIVE_AGENT={AGENT}", f"OLIVE_PREVIEW_DIAL={dial}", "OLIVE_DIAL_TIMEOUT=15"]
    c.send_plain(
        "Originate", ("Channel", AGENT), ("Context", "olive-preview"), ("Exten", "s"), ("Priority", "1"),
        ("Timeout", "15000"), ("CallerID", '"Olive Dialer" <9000>'), ("Async", "true"), ("ChannelId", call_id),
        *(("Variable", v) for v in variables),
    )
    return c


def _agent_dials(c: Client, name: str) -> list[tuple[str, str]]:
    return [(e.get("DestChannel") or "", e.get("DialStatus") or "") for e in c.events(name) if (e.get("Channel") or "").startswith(AGENT)]


async def test_a_pjsip_trunk_customer_is_dialed_and_bridged(pbx: SimulatedPBX) -> None:
    c = await _preview(pbx, "PJSIP/+12025551001@amd", "olive-pj-1")  # the amd trunk answers every call
    end = await c.event("DialEnd", timeout=10, Channel=f"{AGENT}-00000000;1")
    assert end["DialStatus"] == "ANSWER" and (end["DestChannel"] or "").startswith("PJSIP/amd-")
    begin = _agent_dials(c, "DialBegin")
    assert begin == [(end["DestChannel"] or "", "")] and c.events("DialBegin")[-1]["DialString"] == "+12025551001@amd"
    await c.event("BridgeEnter", Channel=f"{AGENT}-00000000;1")
    entered = [e["Channel"] for e in c.events("BridgeEnter")]
    assert entered == [end["DestChannel"], f"{AGENT}-00000000;1"]  # the callee first, as app_dial's bridge does
    sets = {e["Variable"]: e["Value"] for e in c.events("VarSet") if e["Channel"] == f"{AGENT}-00000000;1"}
    assert (sets["DIALSTATUS"], sets["DIALEDPEERNAME"], sets["DIALEDPEERNUMBER"]) == ("ANSWER", end["DestChannel"], "+12025551001@amd")
    await c.close()


async def test_with_two_destinations_the_first_answer_wins(pbx: SimulatedPBX) -> None:
    answers, rings = "Local/+12025551001@olive-test-customers", "Local/+12025553001@olive-test-customers"
    c = await _preview(pbx, f"{answers}&{rings}", "olive-two-1")
    await c.event("BridgeEnter", timeout=10, Channel=f"{AGENT}-00000000;1")
    ends = _agent_dials(c, "DialEnd")
    assert sorted(status for _, status in ends) == ["ANSWER", "CANCEL"]
    cancelled = next(dest for dest, status in ends if status == "CANCEL")
    assert cancelled.startswith(rings)
    hangup = await c.event("Hangup", Channel=cancelled)
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("26", "Answered elsewhere")
    assert len(_agent_dials(c, "DialBegin")) == 2
    await c.close()
