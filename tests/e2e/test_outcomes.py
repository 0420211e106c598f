"""The real engine against Asterisk over TCP: every outcome, retries, the 30-ms trap."""

from __future__ import annotations

import pytest

from e2e.checks import assert_every_attempt_recorded_once
from e2e.harness import CUSTOMERS, Olive, make_campaign, number
from olive import ami
from olive.store import to_epoch

ONCE = {k: {"max_attempts": 1, "delay_s": 60} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED", "CANCELLED")}


class TestOutcomes:
    async def test_every_outcome(self, olive: Olive) -> None:
        expected = {
            number(1, 1): "CONNECTED",
            number(2, 1): "BUSY",
            number(3, 1): "NO_ANSWER",
            number(4, 1): "CONGESTION",
            number(5, 1): "ABANDONED",
            number(6, 1): "INVALID_NUMBER",
        }
        cid = make_campaign(olive.sessions, name="every-outcome", contacts=list(expected), retry_rules=ONCE)
        await olive.start()
        report = await olive.finish(cid)
        calls = olive.calls(cid)
        assert {c.number: c.outcome for c in calls} == expected
        assert report.outcomes == {o: 1 for o in expected.values()}
        connected = next(c for c in calls if c.outcome == "CONNECTED")
        assert connected.agent_interface in ("Local/101@olive-test-agents", "Local/102@olive-test-agents")
        assert connected.agent_id is not None
        assert connected.customer_wait_s is not None and connected.customer_wait_s < 2.0
        assert connected.talk_s is not None and 18 <= connected.talk_s <= 42
        busy = next(c for c in calls if c.outcome == "BUSY")
        assert busy.hangup_cause == 17
        abandoned = next(c for c in calls if c.outcome == "ABANDONED")
        assert abandoned.abandon_reason == "caller_hangup"
        no_answer = next(c for c in calls if c.outcome == "NO_ANSWER")
        assert no_answer.ring_s == pytest.approx(15, abs=1.0)
        assert_every_attempt_recorded_once(calls, olive.target.pbx)

    async def test_connect_limit_drops_an_answer_no_agent_takes(self, olive: Olive) -> None:
        # The only agent's phone rings and is never answered: the answered customer is
        # dropped by the dialplan when the 2 s connect limit passes.
        cid = make_campaign(olive.sessions, name="connect-limit", contacts=[number(7, 1)], agents=["901"], retry_rules=ONCE)
        await olive.start()
        await olive.finish(cid)
        (call,) = olive.calls(cid)
        assert (call.outcome, call.abandon_reason) == ("ABANDONED", "timeout")
        assert call.customer_wait_s == pytest.approx(2.0, abs=0.5)
        assert call.agent_interface is None


class TestRetries:
    async def test_busy_is_retried_after_its_delay(self, olive: Olive) -> None:
        rules = dict(ONCE, BUSY={"max_attempts": 2, "delay_s": 60})
        cid = make_campaign(olive.sessions, name="retry", contacts=[number(2, 7)], retry_rules=rules)
        await olive.start()
        await olive.finish(cid)
        first, second = olive.calls(cid)
        assert (first.outcome, second.outcome) == ("BUSY", "BUSY")
        assert (first.attempt, second.attempt) == (1, 2)
        assert first.ended_at is not None
        assert to_epoch(second.originated_at) - to_epoch(first.ended_at) >= 60

    async def test_next_number_is_tried(self, olive: Olive) -> None:
        rules = dict(ONCE, NO_ANSWER={"max_attempts": 1, "delay_s": 30})
        cid = make_campaign(olive.sessions, name="next-number", contacts=[[number(3, 8), number(1, 8)]], retry_rules=rules)
        await olive.start()
        await olive.finish(cid)
        assert [(c.number, c.outcome) for c in olive.calls(cid)] == [(number(3, 8), "NO_ANSWER"), (number(1, 8), "CONNECTED")]


class TestMilliseconds:
    async def test_plan_seconds_reach_asterisk_as_milliseconds(self, olive: Olive) -> None:
        cid = make_campaign(olive.sessions, name="ms", contacts=[number(3, 9)], retry_rules=ONCE, dial_timeout_s=17)
        await olive.start()
        await olive.finish(cid)
        (call,) = olive.calls(cid)
        assert call.outcome == "NO_ANSWER"
        assert call.ring_s == pytest.approx(17, abs=1.0)
        if olive.target.pbx is not None:
            (sent,) = olive.target.pbx.actions_named("Originate")
            assert sent.get("Timeout") == "17000"

    async def test_a_hand_written_30_ms_originate_dies_still_ringing(self, olive: Olive) -> None:
        t = olive.target
        client = ami.AMIClient(t.server.host, t.server.port, t.server.username, t.server.secret, keepalive=0)
        events: list[ami.Event] = []
        client.on_event(events.append)
        await client.connect()
        try:
            act = ami.action(
                "Originate", Channel=CUSTOMERS.replace("{number}", number(1, 30)), Context="olive-dialer",
                Exten="s", Priority=1, Timeout=30, ChannelId="trap-30ms", Async=True,
            )
            await client.send_action(act)
            await olive.until(lambda: any(e.name == "OriginateResponse" for e in events), within_s=10, what="OriginateResponse")
        finally:
            await client.close()
        response = next(e for e in events if e.name == "OriginateResponse")
        assert (response.get("Response"), response.get("Reason")) == ("Failure", "3")
        assert not any(e.name == "Newstate" and e.get("ChannelStateDesc") == "Up" for e in events)
        hangups = [e for e in events if e.name == "Hangup"]
        assert hangups and all(e.get("Cause") == "19" for e in hangups)


class TestOliveEndsCalls:
    async def test_a_channel_asterisk_cannot_create_is_failed(self, olive: Olive) -> None:
        cid = make_campaign(
            olive.sessions, name="failed", contacts=[number(1, 40)], retry_rules=ONCE,
            channel_template="PJSIP/{number}@olive-no-such-endpoint",
        )
        await olive.start()
        await olive.finish(cid)
        (call,) = olive.calls(cid)
        assert call.outcome == "FAILED"
        assert call.answered_at is None

    async def test_a_forced_stop_cancels_ringing_calls(self, olive: Olive) -> None:
        cid = make_campaign(olive.sessions, name="cancel", contacts=[number(3, i) for i in range(2)], retry_rules=ONCE)
        engine = await olive.start()
        link = engine.links["default"]
        await olive.until(lambda: sum(r.ringing_at is not None for r in link.tracker.active()) == 2, within_s=60, what="two calls ringing")
        hung_up = await engine.control.stop_campaign(cid, force=True)
        assert hung_up == 2
        await olive.until(lambda: len(link.tracker) == 0, within_s=60, what="calls ended")
        await olive.until(lambda: all(c.ended_at for c in olive.calls(cid)), within_s=60, what="records ended")
        calls = olive.calls(cid)
        assert [c.outcome for c in calls] == ["CANCELLED", "CANCELLED"]
        assert olive.report(cid).status == "stopped"
