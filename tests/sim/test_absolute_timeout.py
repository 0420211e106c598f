"""TIMEOUT(absolute), the T extension, MASTER_CHANNEL() and Queue()'s gosub on the simulator,
as Asterisk 22 runs them (func_timeout.c, pbx.c __ast_pbx_run, func_channel.c, app_queue.c
try_calling; transcripts 34 and 35 on a real Asterisk)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.sim.client import Client

from olive.clock import ScaledClock
from olive.sim import SimulatedPBX
from olive.sim._core import timeout_seconds
from olive.sim._scenario import parse_scenario

FAST = 50.0
DOCS = Path(__file__).resolve().parents[2] / "docs" / "asterisk"

DIALPLAN = """
[timer]
exten => s,1,Set(TIMEOUT(absolute)=${LIMIT})
 same => n,Set(TIMEOUT(absolute)=${THEN})
 same => n,Wait(2)
 same => n,Set(REACHED=after-wait)
 same => n,Hangup()
exten => T,1,Set(WHERE=T)
 same => n,Hangup()

[timer-no-t]
exten => s,1,Set(TIMEOUT(absolute)=0.3)
 same => n,Wait(2)
 same => n,Set(REACHED=after-wait)

[queue-gosub]
exten => s,1,Queue(olive-test,,,,,,from-agent)
 same => n,Hangup()

[from-agent]
exten => s,1,Set(MASTER_CHANNEL(FROM_AGENT)=${CHANNEL})
 same => n,Return()

[queue-1s]
exten => s,1,Queue(olive-test,,,,1)
 same => n,Hangup()
"""


async def run(
    tmp_path: Path, context: str, *variables: str, agent: str | None = None, start: float | None = None,
) -> Client:
    conf = tmp_path / "timer.conf"
    conf.write_text(DIALPLAN)
    scenario = parse_scenario({"pbx": {
        "dialplan": [str(conf), str(DOCS / "olive-test.conf")], "queues": [str(DOCS / "queues.conf")],
        "transmit_silence": True,
    }}, tmp_path)
    pbx = SimulatedPBX(scenario, clock=ScaledClock(FAST, start=start))
    port = await pbx.start()
    try:
        c = await Client.connect(port)
        await c.login("on")
        if agent is not None:
            await c.response(c.send("QueueAdd", ("Queue", "olive-test"), ("Interface", agent)))
        # +12025557001 answers after 1 s and waits 30 s.
        await c.response(c.send(
            "Originate", ("Channel", "Local/+12025557001@olive-test-customers"), ("Context", context),
            ("Exten", "s"), ("Priority", "1"), ("ChannelId", "t1"), ("Async", "true"),
            *(("Variable", v) for v in variables),
        ))
        await c.event("Hangup", timeout=30, Uniqueid="t1")
        await c.close()
        return c
    finally:
        await pbx.stop()


def when(c: Client, kind: str, **fields: str) -> float | None:
    found = [float(e["Timestamp"]) for e in c.events(kind)
             if e.get("Uniqueid") == "t1" and all(e.get(k) == v for k, v in fields.items())]
    return found[0] if found else None


def set_at(c: Client, app_data: str) -> float:
    t = when(c, "Newexten", Application="Set", AppData=app_data)
    assert t is not None
    return t


@pytest.mark.parametrize(("value", "seconds"), [
    ("1.2", 1.2), ("2", 2.0), ("0", 0.0), ("", 0.0), ("abc", 0.0), ("-1", 0.0), ("0.5", 0.5), (" 3.25", 3.25),
    ("1.2345678", 1.234567),  # microseconds, truncated
])
def test_the_value_is_read_as_func_timeout_reads_it(value: str, seconds: float) -> None:
    assert timeout_seconds(value) == pytest.approx(seconds, abs=1e-9)


async def test_the_timeout_ends_a_wait_and_the_pbx_goes_on_at_t(tmp_path: Path) -> None:
    c = await run(tmp_path, "timer", "LIMIT=0.3", "THEN=0.3")
    started = set_at(c, "TIMEOUT(absolute)=0.3")
    assert when(c, "VarSet", Variable="WHERE", Value="T") == pytest.approx(started + 0.3, abs=0.01)
    assert when(c, "Newexten", Extension="T", Application="Set") is not None
    assert when(c, "VarSet", Variable="REACHED") is None  # Wait() never returned normally
    # A function write sets no variable: no VarSet for TIMEOUT(absolute).
    assert not [e for e in c.events("VarSet") if "TIMEOUT" in (e.get("Variable") or "")]


async def test_zero_clears_it(tmp_path: Path) -> None:
    c = await run(tmp_path, "timer", "LIMIT=0.3", "THEN=0")
    started = set_at(c, "TIMEOUT(absolute)=0.3")
    assert when(c, "VarSet", Variable="REACHED", Value="after-wait") == pytest.approx(started + 2.0, abs=0.01)
    assert when(c, "VarSet", Variable="WHERE") is None


async def test_without_a_t_extension_the_channel_hangs_up(tmp_path: Path) -> None:
    c = await run(tmp_path, "timer-no-t")
    started = set_at(c, "TIMEOUT(absolute)=0.3")
    assert when(c, "Hangup") == pytest.approx(started + 0.3, abs=0.01)
    assert when(c, "VarSet", Variable="REACHED") is None


async def test_queues_gosub_runs_on_the_agent_and_master_channel_writes_on_the_customer(tmp_path: Path) -> None:
    c = await run(tmp_path, "queue-gosub", agent="Local/801@olive-test-agents")
    [agent_leg] = {e["DestChannel"] for e in c.events("AgentConnect")}
    # The gosub ran on the agent's channel, before AgentConnect; its MASTER_CHANNEL() is the
    # channel whose uniqueid is its linkedid: the customer's (Linkedid = the Originate's ChannelId).
    sub = [e for e in c.events("Newexten") if e.get("Context") == "from-agent"]
    assert [e["Channel"] for e in sub] == [agent_leg, agent_leg]
    assert [e["Application"] for e in sub] == ["Set", "Return"]
    set_on_customer = [e for e in c.events("VarSet") if e.get("Variable") == "FROM_AGENT"]
    assert [(e["Uniqueid"], e["Value"]) for e in set_on_customer] == [("t1", agent_leg)]
    connect = when(c, "AgentConnect")
    assert connect is not None and float(sub[-1]["Timestamp"]) <= connect


@pytest.mark.parametrize("offset", [0.0, 0.35, 0.7])
async def test_queues_own_timeout_is_whole_seconds_from_the_join(tmp_path: Path, offset: float) -> None:
    """app_queue: expire = time(NULL) at the join + 1, checked once a second (queue_exec,
    wait_our_turn): 1.0 s after the join whatever its fraction, as transcript 36 and 14 lab
    measurements (join fractions 0.00-0.99) on Asterisk 22.10.1. Transcript 26's 2.0 s came
    from the kernel's coarse clock behind time(NULL), which the simulator does not play."""
    c = await run(tmp_path, "queue-1s", start=1_796_000_000.0 + offset)
    joined, left = when(c, "QueueCallerJoin"), when(c, "QueueCallerAbandon")
    assert joined is not None and left is not None
    assert left - joined == pytest.approx(1.0, abs=0.02)
    assert when(c, "VarSet", Variable="QUEUESTATUS", Value="TIMEOUT") == pytest.approx(left, abs=0.01)
