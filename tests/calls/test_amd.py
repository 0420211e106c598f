"""Answering-machine detection: MACHINE from the UserEvent or app_amd's VarSet, in any order.

The events are those the simulator publishes for olive's [olive-amd] dialplan
(tests/sim/test_amd.py checks them against app_amd's rules).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from replay import follow_call
from tests.sim.test_amd import run_call

from olive import ami
from olive.calls import CallRecord, CallTracker, Facts, Outcome, classify


def typed(events: list[ami.Event]) -> list[tuple[float, ami.TypedEvent]]:
    out = []
    for e in events:
        t = ami.parse_event(e)
        if t is not None and (getattr(t, "ref", None) is None or t.ref.linkedid == "amd1" or isinstance(t, ami.UserEvent)):
            out.append((float(e.get("Timestamp") or 0.0), t))
    return out


async def recorded(number: str, *variables: str, until: str = "Hangup") -> list[tuple[float, ami.TypedEvent]]:
    c = await run_call(number, *variables, until=until)
    return typed(c.events())


def follow(events: list[tuple[float, ami.TypedEvent]]) -> CallRecord:
    return follow_call("amd1", events)


@pytest.fixture(scope="module")
def machine_hangup() -> list[tuple[float, ami.TypedEvent]]:
    import asyncio

    return asyncio.run(recorded("+12025559001", "OLIVE_AMD=hangup"))


class TestMachine:
    def test_a_machine_hung_up_on_is_machine_with_its_cause(self, machine_hangup: list[tuple[float, ami.TypedEvent]]) -> None:
        rec = follow(machine_hangup)
        assert rec.outcome is Outcome.MACHINE
        assert (rec.amd_status, rec.amd_cause) == ("MACHINE", "LONGGREETING-1500-1500")
        assert rec.agent_connected_at is None and rec.queued_at is None
        assert not rec.outcome.live_answer

    @pytest.mark.parametrize("keep", ["UserEvent", "VarSet"])
    def test_either_report_is_enough(self, machine_hangup: list[tuple[float, ami.TypedEvent]], keep: str) -> None:
        # A login without the user class loses the UserEvent; one without dialplan, the VarSet.
        drop = ami.VarSet if keep == "UserEvent" else ami.UserEvent
        events = [(t, e) for t, e in machine_hangup if not isinstance(e, drop)]
        rec = follow(events)
        assert rec.outcome is Outcome.MACHINE and rec.amd_status == "MACHINE"

    @settings(max_examples=30, deadline=None)
    @given(data=st.data())
    def test_the_originate_response_anywhere(self, machine_hangup: list[tuple[float, ami.TypedEvent]], data: st.DataObject) -> None:
        events = list(machine_hangup)
        i = next(i for i, (_, e) in enumerate(events) if isinstance(e, ami.OriginateResponse))
        moved = events.pop(i)
        j = data.draw(st.integers(0, len(events)))
        events.insert(j, moved)
        assert follow(events).outcome is Outcome.MACHINE

    async def test_a_message_left_on_a_machine_is_machine(self) -> None:
        rec = follow(await recorded("+12025559002", "OLIVE_AMD=message", "OLIVE_AMD_MESSAGE=acme/amd"))
        assert rec.outcome is Outcome.MACHINE

    async def test_a_machine_sent_to_an_agent_is_classified_like_any_answer(self) -> None:
        # No agent in the queue: the connect limit drops it; olive cannot know nobody was there.
        rec = follow(await recorded("+12025559003", "OLIVE_AMD=agent"))
        assert rec.amd_status == "MACHINE"
        assert rec.outcome is Outcome.ABANDONED

    async def test_a_person_amd_passed_is_a_live_answer(self) -> None:
        rec = follow(await recorded("+12025558001", "OLIVE_AMD=hangup"))
        assert (rec.amd_status, rec.amd_cause) == ("HUMAN", "HUMAN-800-800")
        assert rec.outcome is Outcome.ABANDONED and rec.queued_at is not None  # no agent logged in

    async def test_hanging_up_during_detection_is_an_abandoned_answer(self) -> None:
        rec = follow(await recorded("+12025555001", "OLIVE_AMD=hangup"))
        assert rec.amd_status == "HANGUP"
        assert rec.outcome is Outcome.ABANDONED


class TestClassify:
    BASE = Facts(
        answered=True, connected=False, cancelled_by_olive=False, channels_seen=True, dial_began=True,
        dial_status="ANSWER", far_cause=16, originate_reason=4, queued=False, queue_abandoned=False,
        queue_status=None, hangup_before_abandon=False,
    )

    @pytest.mark.parametrize(
        ("amd", "queued", "connected", "outcome"),
        [
            ("MACHINE", False, False, Outcome.MACHINE),
            ("NOTSURE", False, False, Outcome.MACHINE),  # the plan treats NOTSURE as a machine
            ("NOTSURE", True, False, Outcome.ABANDONED),  # ... or passes it to an agent
            ("MACHINE", True, True, Outcome.CONNECTED),  # amd = agent
            ("HUMAN", False, False, Outcome.ABANDONED),
            ("HANGUP", False, False, Outcome.ABANDONED),
            (None, False, False, Outcome.ABANDONED),
        ],
    )
    def test_verdicts(self, amd: str | None, queued: bool, connected: bool, outcome: Outcome) -> None:
        facts = replace(self.BASE, amd_status=amd, queued=queued, connected=connected)
        assert classify(facts)[0] is outcome


class TestReadBack:
    def test_astdb_result_of_a_machine_is_machine(self) -> None:
        tracker = CallTracker()
        tracker.originate("c1", action_id="a1", dial_string="PJSIP/1@t", now=0.0)
        [change] = tracker.reconcile([], 10.0, results={"c1": "ABANDONED||||MACHINE"})
        assert change.record.outcome is Outcome.MACHINE and change.record.amd_status == "MACHINE"

    def test_astdb_result_of_a_person_amd_passed(self) -> None:
        tracker = CallTracker()
        tracker.originate("c1", action_id="a1", dial_string="PJSIP/1@t", now=0.0)
        [change] = tracker.reconcile([], 10.0, results={"c1": "CONNECTED|PJSIP/101|||HUMAN"})
        assert change.record.outcome is Outcome.CONNECTED and change.record.agent_interface == "PJSIP/101"

    def test_three_field_results_still_read(self) -> None:
        tracker = CallTracker()
        tracker.originate("c1", action_id="a1", dial_string="PJSIP/1@t", now=0.0)
        [change] = tracker.reconcile([], 10.0, results={"c1": "ABANDONED||TIMEOUT"})
        assert change.record.outcome is Outcome.ABANDONED
