"""The connect limit without AMD ([olive-dialer], and [olive-broadcast]'s "press 1" queue)
kept to the millisecond with TIMEOUT(absolute) and a T extension, as [olive-amd] keeps it:
Queue()'s own timeout counts whole seconds (transcripts 26 and 36; docs/compliance.md)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from tests.sim.client import Client

from olive.clock import ScaledClock
from olive.engine._dialing import build_intent
from olive.sim import SimulatedPBX

FAST = 50.0


def sent(plan: dict[str, Any]) -> dict[str, str]:
    """The Originate variables olive sends for one call of ``plan``."""
    campaign: Any = SimpleNamespace(id="c1", queue="olive-test")
    contact: Any = SimpleNamespace(id="k1", attempts=0, variables={})
    number: Any = SimpleNamespace(id="n1", number="+12025557001")
    full = {"channel_template": "Local/{number}@olive-test-customers", "drop_action": "message",
            "drop_message": "vm-goodbye", **plan}
    return dict(build_intent(campaign, contact, number, full, "s1").variables)


async def run(context: str, number: str, variables: dict[str, str], *, agent: str | None = None,
              keys: str = "") -> tuple[Client, dict[str, str]]:
    """Originate olive-test.conf's ``number`` into ``context`` with ``variables``, into an olive-test
    queue holding ``agent`` (or nobody); the client and AstDB once the customer's channel hung up."""
    from tests.e2e.harness import SCENARIO

    pbx = SimulatedPBX(SCENARIO, clock=ScaledClock(FAST))
    port = await pbx.start()
    try:
        c = await Client.connect(port)
        await c.login("on")
        if agent is not None:
            await c.response(c.send("QueueAdd", ("Queue", "olive-test"), ("Interface", f"Local/{agent}@olive-test-agents"),
                                    ("MemberName", f"agent{agent}")))
        await c.response(c.send(
            "Originate", ("Channel", f"Local/{number}@olive-test-customers"), ("Context", context),
            ("Exten", "s"), ("Priority", "1"), ("ChannelId", "dl1"), ("Async", "true"),
            *(("Variable", f"{k}={v}") for k, v in {**variables, "OLIVE_CALL_ID": "dl1"}.items()),
        ))
        await c.event("Hangup", timeout=60, Uniqueid="dl1")
        await c.close()
        return c, dict(pbx.core.astdb)
    finally:
        await pbx.stop()


def at(c: Client, kind: str, **fields: str) -> float:
    """When the first ``kind`` event of the customer's channel with these fields came."""
    return next(float(e["Timestamp"]) for e in c.events(kind)
                if e.get("Uniqueid") == "dl1" and all(e.get(k) == v for k, v in fields.items()))


class TestDialer:
    @pytest.mark.parametrize("limit", [2.0, 1.5, 0.75])
    async def test_nobody_free_drops_the_call_at_the_plans_limit_to_the_millisecond(self, limit: float) -> None:
        c, astdb = await run("olive-dialer", "+12025557001", sent({"connect_limit_s": limit}))
        joined = at(c, "QueueCallerJoin")
        left = at(c, "QueueCallerLeave")
        # Queue(...,1) gave up 1.0 s after the join on a real Asterisk (36), or 2.0 s (26).
        assert limit - 0.005 <= left - joined <= limit + 0.005  # event timestamps are rounded
        # The T extension: the reason, the drop message, then the hang-up.
        assert at(c, "VarSet", Variable="OLIVE_DROP_REASON", Value="TIMEOUT") == pytest.approx(left, abs=0.01)
        assert at(c, "Newexten", Application="Playback", AppData="vm-goodbye") >= left
        assert at(c, "VarSet", Variable="OLIVE_DROP_PLAYED", Value="SUCCESS") > left
        kind, interface, status, _ = astdb["olive-outcome/dl1"].split("|")
        assert (kind, interface, status) == ("ABANDONED", "", "TIMEOUT")

    async def test_an_agent_who_answers_within_the_limit_is_never_cut_off_by_it(self) -> None:
        # Agent 101 answers 1 s after the queue rings it, 0.5 s before the plan's limit.
        c, astdb = await run("olive-dialer", "+12025557001", sent({"connect_limit_s": 1.5}), agent="101")
        joined = at(c, "QueueCallerJoin")
        connected = at(c, "AgentConnect")
        assert connected - joined == pytest.approx(1.0, abs=0.05)
        assert at(c, "Hangup") - connected > 25  # the customer's Wait(30), not the timer
        assert not [e for e in c.events("Newexten") if e.get("Uniqueid") == "dl1" and e.get("Extension") == "T"]
        assert astdb["olive-outcome/dl1"].startswith("CONNECTED|Local/101@olive-test-agents||")

    async def test_an_agent_still_ringing_at_the_limit_is_cancelled_and_the_call_dropped(self) -> None:
        c, astdb = await run("olive-dialer", "+12025557001", sent({"connect_limit_s": 1.5}), agent="901")
        assert at(c, "QueueCallerLeave") - at(c, "QueueCallerJoin") == pytest.approx(1.5, abs=0.005)
        assert [e["DialStatus"] for e in c.events("DialEnd") if e.get("DestChannel", "").startswith("Local/901")] == [
            "CANCEL", "CANCEL"]
        assert not c.events("AgentConnect")
        assert astdb["olive-outcome/dl1"].split("|")[2] == "TIMEOUT"


class TestBroadcastPressOne:
    """[olive-broadcast]: "press 1 to talk to someone" joins the queue with the same limit."""

    async def test_an_agent_ready_but_not_answering_drops_the_call_at_the_limit(self) -> None:
        variables = {**sent({"connect_limit_s": 1.5}), "OLIVE_MESSAGE": "hello-world", "OLIVE_IVR_KEYS": "19",
                     "OLIVE_IVR_AGENT": "1", "OLIVE_IVR_TIMEOUT": "5"}
        c, astdb = await run("olive-broadcast", "+12025550101", variables, agent="901")
        assert at(c, "QueueCallerLeave") - at(c, "QueueCallerJoin") == pytest.approx(1.5, abs=0.005)
        assert at(c, "VarSet", Variable="OLIVE_DROP_REASON", Value="TIMEOUT") >= at(c, "QueueCallerLeave")
        assert at(c, "VarSet", Variable="OLIVE_DROP_PLAYED", Value="SUCCESS") > at(c, "QueueCallerLeave")
        kind, interface, status, _, _, agentless, key = astdb["olive-outcome/dl1"].split("|")
        assert (kind, interface, status, agentless, key) == ("ABANDONED", "", "TIMEOUT", "yes", "1")
