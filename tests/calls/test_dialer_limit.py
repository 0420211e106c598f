"""The connect limit's drop in [olive-dialer] (TIMEOUT(absolute) and the T extension, no
QUEUESTATUS) is an abandoned call dropped by the limit, not a customer hang-up, from the live
events and from the AstDB read-back (tests/sim/test_dialer_limit.py checks the events)."""

from __future__ import annotations

import pytest
from replay import follow_call, replay
from tests.sim.test_dialer_limit import run, sent

from olive import ami
from olive.calls import AbandonReason, CallRecord, CallTracker, Outcome


async def events(number: str, limit: float) -> list[tuple[float, ami.TypedEvent]]:
    c, _ = await run("olive-dialer", number, sent({"connect_limit_s": limit}))
    out = []
    for e in c.events():
        t = ami.parse_event(e)
        if t is not None and (getattr(t, "ref", None) is None or t.ref.linkedid == "dl1"):
            out.append((float(e.get("Timestamp") or 0.0), t))
    return out


def follow(events: list[tuple[float, ami.TypedEvent]]) -> CallRecord:
    return follow_call("dl1", events)


class TestLiveEvents:
    async def test_the_limits_drop_is_abandoned_by_timeout(self) -> None:
        rec = follow(await events("+12025557001", 1.5))
        assert (rec.outcome, rec.abandon_reason, rec.queue_status) == (Outcome.ABANDONED, AbandonReason.TIMEOUT, "TIMEOUT")
        assert rec.drop_message_played is True

    async def test_a_customer_who_hangs_up_in_the_queue_is_a_caller_hangup(self) -> None:
        rec = follow(await events("+12025555001", 2.0))  # answers and hangs up at once
        assert (rec.outcome, rec.abandon_reason) == (Outcome.ABANDONED, AbandonReason.CALLER_HANGUP)
        assert rec.queue_status is None


class TestRecorded:
    """Transcripts 37-39: [olive-dialer] on a real Asterisk 22.10.1."""

    @pytest.mark.parametrize(("name", "wait"), [("37_dialer_connect_limit_no_agent", 2.0),
                                                ("39_dialer_connect_limit_agent_still_ringing", 1.5)])
    def test_the_limits_drop_is_abandoned_by_timeout(self, name: str, wait: float) -> None:
        rec = replay(name).record()
        assert (rec.outcome, rec.abandon_reason, rec.queue_status) == (Outcome.ABANDONED, AbandonReason.TIMEOUT, "TIMEOUT")
        assert rec.drop_message_played is True
        assert rec.customer_wait_s is not None and abs(rec.customer_wait_s - wait) < 0.01

    @pytest.mark.parametrize("name", ["37_dialer_connect_limit_no_agent", "39_dialer_connect_limit_agent_still_ringing"])
    def test_a_login_without_dialplan_events_still_tells_the_limits_drop(self, name: str) -> None:
        # Events: call,agent loses T's VarSet (transcript 17): QueueCallerAbandon while the
        # customer's channel is still up is the limit, as for Queue()'s own timeout (12).
        rec = replay(name, classes=frozenset({"call", "agent"})).record()
        assert (rec.outcome, rec.abandon_reason, rec.queue_status) == (Outcome.ABANDONED, AbandonReason.TIMEOUT, None)

    def test_an_agent_who_answered_within_the_limit_is_connected(self) -> None:
        rec = replay("38_dialer_connect_limit_agent_answers_in_1s").record()
        assert (rec.outcome, rec.agent_interface) == (Outcome.CONNECTED, "Local/181@olive-test-agents")
        assert rec.abandon_reason is None


class TestReadBack:
    def test_the_t_extensions_astdb_result_is_a_timeout(self) -> None:
        tracker = CallTracker()
        tracker.originate("c1", action_id=None, dial_string="Local/x@y", now=0.0)
        [change] = tracker.reconcile([], 10.0, results={"c1": "ABANDONED||TIMEOUT|1796566004"})
        assert (change.record.outcome, change.record.abandon_reason) == (Outcome.ABANDONED, AbandonReason.TIMEOUT)

    def test_a_caller_hangup_in_the_queue_reads_back_as_one(self) -> None:
        tracker = CallTracker()
        tracker.originate("c1", action_id=None, dial_string="Local/x@y", now=0.0)
        [change] = tracker.reconcile([], 10.0, results={"c1": "ABANDONED|||1796566004"})
        assert change.record.outcome is Outcome.ABANDONED
        assert change.record.abandon_reason is AbandonReason.CALLER_HANGUP
