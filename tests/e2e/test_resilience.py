"""A dropped AMI connection and a restarted olive lose no call and dial no one twice."""

from __future__ import annotations

import asyncio

import pytest

from e2e.checks import assert_every_attempt_recorded_once, assert_no_contact_dialed_twice_at_once
from e2e.harness import Olive, make_campaign, number
from olive.calls import CallState
from olive.engine import EngineState

RULES = {k: {"max_attempts": 2, "delay_s": 30} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED", "CANCELLED")}


def ringing(link: object) -> int:
    """Calls Asterisk has placed (olive saw their channels)."""
    return sum(1 for r in link.tracker.active() if r.state is not CallState.ORIGINATING)  # type: ignore[attr-defined]


def mixed(n: int) -> list[str]:
    kinds = [1, 1, 1, 2, 3, 1, 4, 1, 6, 1]
    return [number(kinds[i % len(kinds)], 100 + i) for i in range(n)]


class TestAMIDrop:
    async def test_drop_mid_campaign(self, olive: Olive) -> None:
        if not olive.target.simulated:
            pytest.skip("dropping the AMI connection needs the simulator")
        cid = make_campaign(olive.sessions, name="drop", contacts=mixed(30), agents=["101", "102", "103"], retry_rules=RULES)
        engine = await olive.start()
        link = engine.links["default"]
        await olive.until(lambda: ringing(link) >= 3, within_s=120, what="three calls ringing")
        in_flight = {r.call_id for r in link.tracker.active() if r.state is not CallState.ORIGINATING}
        await olive.target.pbx.drop_connections()
        await olive.until(lambda: link.client.connections >= 2 and link.ready, within_s=120, what="reconnected")
        report = await olive.finish(cid, within_s=3 * 3600)
        calls = olive.calls(cid)
        assert_every_attempt_recorded_once(calls, olive.target.pbx)
        assert_no_contact_dialed_twice_at_once(calls)
        by_id = {c.id: c for c in calls}
        assert in_flight <= set(by_id), "a call in flight at the drop has no record"
        # Calls alive across the drop are followed to their real end, not written off.
        assert any(by_id[i].outcome == "CONNECTED" for i in in_flight)
        assert report.outcomes.get("CONNECTED", 0) >= 15


class TestRestart:
    async def test_restart_mid_campaign(self, olive: Olive) -> None:
        cid = make_campaign(olive.sessions, name="restart", contacts=mixed(30), agents=["101", "102", "103"], retry_rules=RULES)
        first = await olive.start()
        link = first.links["default"]
        await olive.until(lambda: ringing(link) >= 3, within_s=120, what="three calls ringing")
        in_flight = {r.call_id for r in link.tracker.active() if r.state is not CallState.ORIGINATING}
        # A crash: the engine stops without a goodbye; Asterisk keeps the calls up.
        assert first._loop_task is not None
        first._loop_task.cancel()
        first.state = EngineState.STOPPED
        if link.client._writer is not None:
            link.client._writer.transport.abort()
        await link.client.close()
        await asyncio.sleep(0.05)
        second = Olive(olive.sessions, olive.target, olive.guard)
        try:
            await second.start()
            report = await second.finish(cid, within_s=3 * 3600)
            calls = second.calls(cid)
        finally:
            await second.stop()
        assert_every_attempt_recorded_once(calls, olive.target.pbx)
        assert_no_contact_dialed_twice_at_once(calls)
        assert in_flight <= {c.id for c in calls}
        assert report.outcomes.get("CONNECTED", 0) >= 15
        assert report.contacts.get("pending", 0) == report.contacts.get("dialing", 0) == 0
