"""Agentless calls: MESSAGE and the key read, from [olive-broadcast]'s VarSets and UserEvent, in any order.

The events are those the simulator publishes for the shipped dialplan
(tests/sim/test_ivr.py checks them against app_read's rules).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from replay import follow_call
from tests.sim.test_ivr import CALL, KEYS, run_local

from olive import ami
from olive.calls import CallRecord, CallTracker, Facts, Outcome, classify

Events = list[tuple[float, ami.TypedEvent]]


async def recorded(number: str, *variables: str, agent: str | None = None) -> Events:
    c = await run_local(number, *variables, agent=agent)
    out = []
    for e in c.events():
        t = ami.parse_event(e)
        if t is not None and (getattr(t, "ref", None) is None or t.ref.linkedid == CALL):
            out.append((float(e.get("Timestamp") or 0.0), t))
    return out


def follow(events: list[tuple[float, ami.TypedEvent]]) -> CallRecord:
    return follow_call(CALL, events)


@pytest.fixture(scope="module")
def pressed_9() -> Events:
    return asyncio.run(recorded("+12025550901", *KEYS))


class TestMessage:
    def test_a_key_pressed_is_message_with_the_key(self, pressed_9: Events) -> None:
        rec = follow(pressed_9)
        assert rec.outcome is Outcome.MESSAGE
        assert (rec.agentless, rec.ivr_key, rec.ivr_status) == (True, "9", "OK")
        assert rec.queued_at is None and rec.agent_connected_at is None
        assert not rec.outcome.live_answer
        assert rec.detail is not None and "key 9 pressed" in rec.detail

    @pytest.mark.parametrize("keep", ["UserEvent", "VarSet"])
    def test_either_report_is_enough(self, pressed_9: Events, keep: str) -> None:
        # A login without the user class loses the UserEvent; without dialplan, the VarSets.
        drop = ami.VarSet if keep == "UserEvent" else ami.UserEvent
        rec = follow([(t, e) for t, e in pressed_9 if not isinstance(e, drop)])
        assert (rec.outcome, rec.ivr_key) == (Outcome.MESSAGE, "9")

    @settings(max_examples=30, deadline=None)
    @given(data=st.data())
    def test_the_reports_in_any_order(self, pressed_9: Events, data: st.DataObject) -> None:
        events = list(pressed_9)
        for kind in (ami.OriginateResponse, ami.UserEvent):
            i = next(i for i, (_, e) in enumerate(events) if isinstance(e, kind))
            moved = events.pop(i)
            events.insert(data.draw(st.integers(0, len(events))), moved)
        rec = follow(events)
        assert (rec.outcome, rec.ivr_key) == (Outcome.MESSAGE, "9")

    async def test_no_key_is_message_without_a_key(self) -> None:
        rec = follow(await recorded("+12025550001", *KEYS))
        assert (rec.outcome, rec.ivr_key, rec.ivr_status) == (Outcome.MESSAGE, None, "TIMEOUT")

    async def test_a_hangup_during_the_message_is_message_not_an_abandon(self) -> None:
        rec = follow(await recorded("+12025555001", *KEYS))
        assert (rec.outcome, rec.ivr_key, rec.ivr_status) == (Outcome.MESSAGE, None, "HANGUP")

    async def test_the_agent_key_is_a_live_answer(self) -> None:
        rec = follow(await recorded("+12025550101", *KEYS, agent="Local/801@olive-test-agents"))
        assert rec.ivr_key == "1" and rec.queued_at is not None
        assert rec.outcome is Outcome.CONNECTED and rec.outcome.live_answer

    async def test_the_agent_key_with_no_agent_ready_is_a_message(self) -> None:
        rec = follow(await recorded("+12025550101", *KEYS))
        assert (rec.outcome, rec.ivr_key, rec.queued_at) == (Outcome.MESSAGE, "1", None)


class TestClassify:
    BASE = Facts(
        answered=True, connected=False, cancelled_by_olive=False, channels_seen=True, dial_began=True,
        dial_status="ANSWER", far_cause=16, originate_reason=4, queued=False, queue_abandoned=False,
        queue_status=None, hangup_before_abandon=False, agentless=True,
    )

    @pytest.mark.parametrize(
        ("answered", "queued", "connected", "outcome"),
        [
            (True, False, False, Outcome.MESSAGE),
            (True, True, False, Outcome.ABANDONED),  # the agent key, no agent in time
            (True, True, True, Outcome.CONNECTED),
            (False, False, False, Outcome.BUSY),  # never answered: the dial's own outcome (DialStatus BUSY)
        ],
    )
    def test_outcomes(self, answered: bool, queued: bool, connected: bool, outcome: Outcome) -> None:
        facts = replace(self.BASE, answered=answered, queued=queued, connected=connected,
                        dial_status="ANSWER" if answered else "BUSY")
        assert classify(facts)[0] is outcome

    def test_not_agentless_stays_abandoned(self) -> None:
        assert classify(replace(self.BASE, agentless=False))[0] is Outcome.ABANDONED


class TestReadBack:
    def test_astdb_result_of_an_agentless_call_never_queued_is_message(self) -> None:
        tracker = CallTracker()
        tracker.originate("c1", action_id="a1", dial_string="PJSIP/1@t", now=0.0)
        [change] = tracker.reconcile([], 10.0, results={"c1": "ABANDONED|||8||yes|9"})
        rec = change.record
        assert (rec.outcome, rec.ivr_key, rec.agentless) == (Outcome.MESSAGE, "9", True)

    def test_astdb_result_of_the_agent_key_connected(self) -> None:
        tracker = CallTracker()
        tracker.originate("c1", action_id="a1", dial_string="PJSIP/1@t", now=0.0)
        [change] = tracker.reconcile([], 10.0, results={"c1": "CONNECTED|PJSIP/101||8||yes|1"})
        assert change.record.outcome is Outcome.CONNECTED and change.record.ivr_key == "1"
