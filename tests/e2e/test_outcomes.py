"""The real engine against Asterisk over TCP: every outcome, retries, the 30-ms trap."""

from __future__ import annotations

from e2e.checks import assert_every_attempt_recorded_once
from e2e.harness import CUSTOMERS, EVERY_OUTCOME, ONCE, Olive, make_campaign, number
from olive import ami


class TestOutcomes:
    async def test_every_outcome(self, olive: Olive) -> None:
        expected = EVERY_OUTCOME
        cid = make_campaign(olive.sessions, name="every-outcome", contacts=list(expected), retry_rules=ONCE)
        await olive.start()
        report = await olive.finish(cid)
        calls = olive.calls(cid)
        assert {c.number: c.outcome for c in calls} == expected
        assert report.outcomes == {o: 1 for o in expected.values()}
        connected = next(c for c in calls if c.outcome == "CONNECTED")
        assert connected.agent_interface in ("Local/101@olive-test-agents", "Local/102@olive-test-agents")
        assert connected.agent_id is not None
        # Exact durations: tests/engine/test_in_memory.py (manual clock). Over TCP, only that they were measured.
        assert connected.customer_wait_s is not None and connected.talk_s is not None
        busy = next(c for c in calls if c.outcome == "BUSY")
        assert busy.hangup_cause == 17
        abandoned = next(c for c in calls if c.outcome == "ABANDONED")
        assert abandoned.abandon_reason == "caller_hangup"
        no_answer = next(c for c in calls if c.outcome == "NO_ANSWER")
        assert no_answer.ring_s is not None
        assert_every_attempt_recorded_once(calls, olive.target.pbx)


# The connect-limit drop, retries, the next number and the plan's milliseconds moved to
# tests/engine/test_in_memory.py: the same engine and simulator, in memory, with exact figures.


class TestMilliseconds:
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
