"""Faults that only a real Asterisk can judge: olive dies while its calls talk, and the
shipped dialplan's hangup handler ([olive-outcome]) is the only witness of how they ended.

Runs only against the Asterisk named by OLIVE_TEST_AMI (set up from docs/asterisk);
tests/faults plays the same against the simulator. About 1 minute: the test customers
(+1 202 555 1xxx) talk 20-40 s.
"""

from __future__ import annotations

import asyncio

import pytest

from e2e.harness import REAL_AMI, Olive, agent_interface, make_campaign, number
from faults.test_olive_absent import crash
from olive.calls import CallState

pytestmark = [
    pytest.mark.real_asterisk,
    pytest.mark.skipif(not REAL_AMI, reason="needs a real Asterisk: OLIVE_TEST_AMI=host:port:user:secret"),
]

AGENTS = ["101", "102"]


async def test_calls_that_end_while_olive_is_dead_are_read_back_and_not_redialed(olive: Olive) -> None:
    contacts = [number(1, 950 + i) for i in range(4)]
    cid = make_campaign(olive.sessions, name="real-absent", contacts=contacts, agents=AGENTS,
                        retry_rules={k: {"max_attempts": 3, "delay_s": 20} for k in ("ABANDONED", "FAILED")})
    first = await olive.start()
    link = first.links["default"]
    await olive.until(
        lambda: sum(1 for r in link.tracker.active() if r.state is CallState.CONNECTED) >= 2,
        within_s=60, what="both agents talking",
    )
    talking = {r.call_id for r in link.tracker.active() if r.state is CallState.CONNECTED}
    await crash(first)  # kill -9: no goodbye, the calls go on in Asterisk
    await asyncio.sleep(45)  # the customers hang up after 20-40 s of talk, unseen
    second = Olive(olive.sessions, olive.target, olive.guard)
    try:
        await second.start()
        await second.finish(cid, within_s=600)
        calls = second.calls(cid)
    finally:
        await second.stop()
    by_id = {c.id: c for c in calls}
    for call_id in talking:
        call = by_id[call_id]
        assert call.outcome == "CONNECTED", (call_id, call.outcome, call.detail)
        assert "AstDB" in (call.detail or ""), call.detail
        assert call.agent_interface in {agent_interface(a) for a in AGENTS}
    dialed = [c.number for c in calls]
    assert len(dialed) == len(set(dialed)) == len(contacts), f"a contact was dialed again: {dialed}"
