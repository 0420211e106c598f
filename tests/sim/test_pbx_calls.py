"""Queues, channel actions, dropped connections and olive's own dialplan, over TCP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.sim.client import Client

from olive.clock import ScaledClock
from olive.sim import SimulatedPBX
from olive.sim._far import AgentBehaviour
from olive.sim._scenario import Distribution, Rule

FAST = 50.0


@pytest.fixture
async def lab() -> AsyncIterator[SimulatedPBX]:
    pbx = SimulatedPBX("lab", clock=ScaledClock(FAST))
    await pbx.start()
    try:
        yield pbx
    finally:
        await pbx.stop()


@pytest.fixture
async def demo() -> AsyncIterator[SimulatedPBX]:
    pbx = SimulatedPBX("default", clock=ScaledClock(FAST))
    await pbx.start()
    try:
        yield pbx
    finally:
        await pbx.stop()


async def logged_in(pbx: SimulatedPBX, events: str = "on") -> Client:
    assert pbx.port is not None
    client = await Client.connect(pbx.port)
    await client.login(events)
    return client


class TestQueueActions:
    async def test_add_pause_remove_with_asterisks_answers(self, lab: SimulatedPBX) -> None:
        c = await logged_in(lab)
        add = ("Queue", "olive-campaign"), ("Interface", "Local/101@agents"), ("MemberName", "agent101")
        assert (await c.response(c.send("QueueAdd", *add))).message == "Added interface to queue"
        again = await c.response(c.send("QueueAdd", *add))
        assert (again.response, again.message) == ("Error", "Unable to add interface: Already there")
        pause = await c.response(c.send("QueuePause", *add[:2], ("Paused", "true"), ("Reason", "break")))
        assert pause.message == "Interface paused successfully"
        event = await c.event("QueueMemberPause")
        assert (event["Paused"], event["PausedReason"]) == ("1", "break")
        assert [m.paused for m in lab.queue_members("olive-campaign")] == [True]
        removed = await c.response(c.send("QueueRemove", *add[:2]))
        assert removed.message == "Removed interface from queue"
        gone = await c.response(c.send("QueueRemove", *add[:2]))
        assert gone.message == "Unable to remove interface: Not there"
        nosuch = await c.response(c.send("QueueAdd", ("Queue", "nope"), ("Interface", "Local/1@agents")))
        assert nosuch.message == "Unable to add interface to queue: No such queue"

    async def test_status_summary_and_channels_are_lists(self, lab: SimulatedPBX) -> None:
        c = await logged_in(lab)
        # A customer who stays 60 s, a member who never answers: the call is there to list.
        await c.response(c.send("QueueAdd", ("Queue", "olive-noanswer"), ("Interface", "Local/901@agents-noanswer")))
        await c.response(c.send(
            "Originate", ("Channel", "Local/60@customers-timed"), ("Context", "dialer-noanswer"), ("Exten", "s"),
            ("Priority", "1"), ("Async", "true"),
        ))
        await c.event("AgentCalled")
        for name, complete, item in (
            ("QueueStatus", "QueueStatusComplete", "QueueEntry"),
            ("QueueSummary", "QueueSummaryComplete", "QueueSummary"),
            ("CoreShowChannels", "CoreShowChannelsComplete", "CoreShowChannel"),
        ):
            aid = c.send(name, ("Queue", "olive-noanswer")) if name.startswith("Queue") else c.send(name)
            start = await c.response(aid)
            assert start.get("EventList") == "start"
            done = await c.event(complete)
            items = [e for e in c.events() if e.action_id == aid and e.name != complete]
            assert done["ListItems"] == str(len(items))
            assert any(e.name == item for e in items)
            assert all("Timestamp" not in e and "Privilege" not in e for e in items)
        channels = [e["Channel"] for e in c.events("CoreShowChannel")]
        assert sorted(channels) == sorted(ch.name for ch in lab.channels())

    async def test_members_are_rung_round_robin_and_paused_ones_skipped(self, lab: SimulatedPBX) -> None:
        c = await logged_in(lab)
        for n in ("101", "102"):
            await c.response(c.send("QueueAdd", ("Queue", "olive-campaign"), ("Interface", f"Local/{n}@agents")))
        await c.response(c.send("QueuePause", ("Interface", "Local/101@agents"), ("Paused", "true")))
        await c.response(c.send(
            "Originate", ("Channel", "Local/5001@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("Async", "true"),
        ))
        called = await c.event("AgentCalled")
        assert called["Interface"] == "Local/102@agents"


    async def test_a_callers_penalty_range_rings_only_the_members_within_it(self, lab: SimulatedPBX) -> None:
        """QUEUE_MIN_PENALTY/QUEUE_MAX_PENALTY on the caller's channel (app_queue's calc_metric()): the
        member with penalty 7 is rung, never the one with 3, though round robin would pick 101 first."""
        c = await logged_in(lab)
        for n, penalty in (("101", "3"), ("102", "7")):
            await c.response(c.send("QueueAdd", ("Queue", "olive-campaign"), ("Interface", f"Local/{n}@agents"), ("Penalty", penalty)))
        assert {m.interface: m.penalty for m in lab.queue_members("olive-campaign")} == {"Local/101@agents": 3, "Local/102@agents": 7}
        await c.response(c.send(
            "Originate", ("Channel", "Local/5001@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("Async", "true"), ("Variable", "QUEUE_MIN_PENALTY=7"), ("Variable", "QUEUE_MAX_PENALTY=7"),
        ))
        called = await c.event("AgentCalled")
        assert called["Interface"] == "Local/102@agents"


class TestChannelActions:
    async def test_hangup_with_cause_and_variables(self, lab: SimulatedPBX) -> None:
        c = await logged_in(lab)
        await c.response(c.send(
            "Originate", ("Channel", "Local/3001@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("ChannelId", "h1"), ("Async", "true"),
        ))
        await c.event("DialState", DialStatus="RINGING")
        one = next(ch for ch in lab.channels() if ch.uniqueid == "h1")
        set_ = await c.response(c.send_plain("Setvar", ("Channel", one.name), ("Variable", "X"), ("Value", "42")))
        assert set_.message == "Variable Set"
        got = await c.response(c.send_plain("Getvar", ("Channel", one.name), ("Variable", "X")))
        assert (got.get("Variable"), got.get("Value")) == ("X", "42")
        missing = await c.response(c.send("Hangup", ("Channel", "Local/nobody-00000099;1")))
        assert missing.message == "No such channel"
        done = await c.response(c.send("Hangup", ("Channel", one.name), ("Cause", "21")))
        assert done.message == "Channel Hungup"
        hangup = await c.event("Hangup", Uniqueid="h1")
        assert (hangup["Cause"], hangup["Cause-txt"]) == ("21", "Call Rejected")
        result = await c.event("OriginateResponse")
        assert result["Response"] == "Failure"


class TestDropConnections:
    async def test_sessions_drop_calls_go_on(self, lab: SimulatedPBX) -> None:
        c = await logged_in(lab)
        await c.response(c.send(
            "Originate", ("Channel", "Local/3001@customers"), ("Context", "dialer"), ("Exten", "s"),
            ("Priority", "1"), ("ChannelId", "d1"), ("Async", "true"),
        ))
        await c.event("DialState")
        await lab.drop_connections()
        await asyncio.wait_for(c.closed.wait(), 5)
        assert any(ch.uniqueid == "d1" for ch in lab.channels())
        again = await logged_in(lab)
        response = await again.response(again.send("CoreShowChannels"))
        assert response.response == "Success"
        await again.event("CoreShowChannelsComplete")
        assert any(e["Uniqueid"] == "d1" for e in again.events("CoreShowChannel"))
        assert len(lab.actions_named("Originate")) == 1


class TestOliveDialplan:
    async def test_connect_limit_drops_with_timeout_and_plays_the_message(self, demo: SimulatedPBX) -> None:
        c = await logged_in(demo)
        # Every number answers after 1 s; no agent is logged in, so the 2 s limit drops the call.
        demo.scenario.trunks["trunk"] = demo.scenario.trunks["trunk"].__class__(
            "trunk", "from-trunk", (Rule("_X.", "answer", Distribution("fixed", 1.0)),), None
        )
        await c.response(c.send(
            "Originate", ("Channel", "PJSIP/5550100@trunk"), ("Context", "olive-dialer"), ("Exten", "s"),
            ("Priority", "1"), ("ChannelId", "o1"), ("Variable", "OLIVE_QUEUE=olive-sales"),
            ("Variable", "OLIVE_CONNECT_LIMIT=2"), ("Variable", "OLIVE_DROP_MESSAGE=sorry"), ("Async", "true"),
        ))
        answered = await c.event("OriginateResponse")
        assert (answered["Response"], answered["Reason"], answered["Uniqueid"]) == ("Success", "4", "o1")
        join = await c.event("QueueCallerJoin", Uniqueid="o1")
        abandon = await c.event("QueueCallerAbandon", Uniqueid="o1")
        assert abandon["HoldTime"] == "2"
        assert float(abandon["Timestamp"]) - float(join["Timestamp"]) == pytest.approx(2.0, abs=0.01)
        # TIMEOUT(absolute) ended Queue() as a hang-up would (no QUEUESTATUS) and the PBX went
        # on at the T extension, which names the reason (transcript 37).
        reason = await c.event("VarSet", Variable="OLIVE_DROP_REASON")
        assert (reason["Value"], reason["Exten"]) == ("TIMEOUT", "T")
        await c.event("Newexten", Application="Playback", AppData="sorry")
        hangup = await c.event("Hangup", Uniqueid="o1", timeout=10)
        assert hangup["Cause"] == "16"
        assert not [e for e in c.events("VarSet") if e.get("Variable") == "QUEUESTATUS" and e.get("Uniqueid") == "o1"]

    async def test_pjsip_agent_answers_and_is_counted(self, demo: SimulatedPBX) -> None:
        demo.scenario.trunks["trunk"] = demo.scenario.trunks["trunk"].__class__(
            "trunk", "from-trunk",
            (Rule("_X.", "answer", Distribution("fixed", 1.0), talk=Distribution("fixed", 5.0)),), None,
        )
        assert demo.core.world is not None
        demo.core.world.agent = lambda interface: AgentBehaviour(True, 0.5)  # type: ignore[method-assign]
        c = await logged_in(demo)
        await c.response(c.send("QueueAdd", ("Queue", "olive-sales"), ("Interface", "PJSIP/101"),
                                ("MemberName", "agent101")))
        await c.response(c.send(
            "Originate", ("Channel", "PJSIP/5550101@trunk"), ("Context", "olive-dialer"), ("Exten", "s"),
            ("Priority", "1"), ("ChannelId", "o2"), ("Variable", "OLIVE_QUEUE=olive-sales"),
            ("Variable", "OLIVE_CONNECT_LIMIT=2"), ("Async", "true"),
        ))
        ringing = await c.event("QueueMemberStatus", Status="6")
        assert ringing["Interface"] == "PJSIP/101"
        connect = await c.event("AgentConnect", Uniqueid="o2")
        assert connect["DestLinkedid"] == "o2"
        done = await c.event("AgentComplete", Uniqueid="o2", timeout=10)
        assert (done["Reason"], done["TalkTime"]) == ("caller", "5")
        counted = await c.event("QueueMemberStatus", Status="1", CallsTaken="1", timeout=10)
        assert counted["InCall"] == "0"


class TestTestTrunk:
    @pytest.mark.parametrize(
        ("number", "reason", "dial_status", "cause"),
        [
            ("1001", "4", "ANSWER", None),
            ("2001", "0", "BUSY", "17"),
            ("3001", "3", None, "19"),
            ("4001", "0", "CONGESTION", "34"),
            ("7001", "0", "NOANSWER", "21"),
            ("9001", "0", "NOANSWER", "1"),
        ],
    )
    async def test_every_outcome(
        self, demo: SimulatedPBX, number: str, reason: str, dial_status: str | None, cause: str | None
    ) -> None:
        c = await logged_in(demo)
        await c.response(c.send(
            "Originate", ("Channel", f"PJSIP/{number}@test"), ("Context", "olive-dialer"), ("Exten", "s"),
            ("Priority", "1"), ("Timeout", "5000"), ("ChannelId", f"t-{number}"),
            ("Variable", "OLIVE_QUEUE=olive-demo"), ("Async", "true"),
        ))
        result = await c.event("OriginateResponse")
        assert (result["Reason"], result["Uniqueid"]) == (reason, f"t-{number}")
        ends = [e["DialStatus"] for e in c.events("DialEnd")]
        assert ends == ([dial_status] if dial_status else [])
        if cause is not None:
            hangup = await c.event("Hangup", Uniqueid=f"t-{number}")
            assert hangup["Cause"] == cause


class TestAgentLeavesMidCall:
    async def test_queue_remove_during_a_call_lets_it_finish(self, demo: SimulatedPBX) -> None:
        demo.core.world.agent = lambda interface: AgentBehaviour(True, 0.5)  # type: ignore[method-assign, union-attr]
        c = await logged_in(demo)
        member = ("Queue", "olive-demo"), ("Interface", "PJSIP/7")
        await c.response(c.send("QueueAdd", *member))
        await c.response(c.send(
            "Originate", ("Channel", "PJSIP/1001@test"), ("Context", "olive-dialer"), ("Exten", "s"),
            ("Priority", "1"), ("ChannelId", "m1"), ("Variable", "OLIVE_QUEUE=olive-demo"), ("Async", "true"),
        ))
        await c.event("AgentConnect", Uniqueid="m1")
        removed = await c.response(c.send("QueueRemove", *member))
        assert removed.message == "Removed interface from queue"
        done = await c.event("AgentComplete", Uniqueid="m1", timeout=10)
        assert (done["Reason"], done["TalkTime"]) == ("caller", "30")
        assert demo.queue_members("olive-demo") == []
        assert not [ch for ch in demo.channels() if ch.linkedid == "m1"]


class TestVaryOrder:
    async def test_a_failures_originate_response_comes_before_or_after_the_hangup(self, demo: SimulatedPBX) -> None:
        assert demo.scenario.vary_order
        c = await logged_in(demo)
        for n in range(12):
            await c.response(c.send(
                "Originate", ("Channel", f"PJSIP/2{n:03d}@test"), ("Context", "olive-dialer"), ("Exten", "s"),
                ("Priority", "1"), ("ChannelId", f"v{n}"), ("Async", "true"),
            ))
        for n in range(12):
            await c.event("OriginateResponse", Uniqueid=f"v{n}")
            await c.event("Hangup", Uniqueid=f"v{n}")
        order = [
            [m.name for m in c.events() if m.get("Uniqueid") == f"v{n}" and m.name in ("OriginateResponse", "Hangup")]
            for n in range(12)
        ]
        assert ["OriginateResponse", "Hangup"] in order and ["Hangup", "OriginateResponse"] in order

    async def test_without_it_the_response_comes_after(self, lab: SimulatedPBX) -> None:
        assert not lab.scenario.vary_order
        c = await logged_in(lab)
        for n in range(6):
            await c.response(c.send(
                "Originate", ("Channel", f"Local/2{n:03d}@customers"), ("Context", "dialer"), ("Exten", "s"),
                ("Priority", "1"), ("ChannelId", f"w{n}"), ("Async", "true"),
            ))
            await c.event("OriginateResponse", Uniqueid=f"w{n}")
        for n in range(6):
            names = [m.name for m in c.events() if m.get("Uniqueid") == f"w{n}" and m.name in ("OriginateResponse", "Hangup")]
            assert names == ["Hangup", "OriginateResponse"]


class TestAnswerWaitsForMedia:
    """Answer() on a Local ;2 leg waits up to 500 ms for a media frame (main/channel.c
    __ast_answer); only a ringing tone or a sound from the ;1 side ends it sooner."""

    @staticmethod
    async def answered_to_hangup(pbx: SimulatedPBX, channel: str, context: str, *variables: str) -> float:
        c = await logged_in(pbx)
        await c.response(c.send(
            "Originate", ("Channel", channel), ("Context", context), ("Exten", "s"), ("Priority", "1"),
            ("Async", "true"), *(("Variable", v) for v in variables),
        ))
        up = await c.event("Newstate", ChannelStateDesc="Up", timeout=20)
        gone = await c.event("Hangup", timeout=20)
        return float(gone["Timestamp"]) - float(up["Timestamp"])

    async def test_queue_with_music_on_hold_sends_no_frame_so_the_wait_is_500_ms(self) -> None:
        # docs/asterisk: Queue() without the r option; olive-test.conf's 5xxx is
        # Answer(); Wait(0.2); Hangup(): it hangs up 0.7 s after answering (INDEX.md).
        from tests.e2e.harness import SCENARIO

        pbx = SimulatedPBX(SCENARIO, clock=ScaledClock(FAST))
        await pbx.start()
        try:
            took = await self.answered_to_hangup(
                pbx, "Local/+12025555001@olive-test-customers", "olive-dialer",
                "OLIVE_QUEUE=olive-test", "OLIVE_CONNECT_LIMIT=2",
            )
        finally:
            await pbx.stop()
        assert took == pytest.approx(0.7, abs=0.05)

    async def test_queue_with_ringing_sends_frames_so_the_wait_is_short(self, lab: SimulatedPBX) -> None:
        # The lab's [dialer] is Queue(olive-campaign,r): transcript 05's 5001 hangs up 3.022 s after answering.
        took = await self.answered_to_hangup(lab, "Local/5001@customers", "dialer")
        assert took == pytest.approx(3.02, abs=0.02)
