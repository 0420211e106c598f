"""Duplicate and contradictory OriginateResponses (issue 10, item 5).

Reported: Failure, Failure, then a late Success turned a BUSY call into
ABANDONED and inflated the abandon rate. The first final answer stands;
the outcome follows what the call really did (its channel events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from replay import replay

from olive import ami
from olive.calls import CallRecord, CallTracker, Outcome
from support.transcripts import Entry


def _ref(call_id: str = "c1") -> ami.ChannelRef:
    return ami.ChannelRef("PJSIP/trunk-00000001", call_id, call_id)


def _or(success: bool, reason: int, call_id: str = "c1") -> ami.OriginateResponse:
    return ami.OriginateResponse(call_id, success, reason, "PJSIP/2001@trunk", call_id)


def _run(events: list[tuple[float, ami.TypedEvent]]) -> CallRecord:
    tracker = CallTracker(settle_s=1.0)
    tracker.originate("c1", action_id="c1", dial_string="PJSIP/2001@trunk", now=0.0)
    ended: list[CallRecord] = []
    for t, event in events:
        ended += [c.record for c in tracker.handle(event, t) if c.ended]
    ended += [c.record for c in tracker.tick(100.0) if c.ended]
    assert len(ended) == 1, "one end per call"
    return ended[0]


BUSY = [
    (0.1, ami.Newchannel(_ref(), 0, "dialer", "s")),
    (0.2, ami.DialEnd(None, _ref(), "BUSY")),
]
HANGUP = (0.3, ami.Hangup(_ref(), 17, "User busy"))


class TestCallTracker:
    def test_failure_failure_then_success_stays_busy(self) -> None:
        rec = _run([*BUSY, (0.2, _or(False, 0)), (0.25, _or(False, 0)), (0.26, _or(True, 4)), HANGUP])
        assert rec.outcome is Outcome.BUSY
        assert rec.answered_at is None
        assert rec.originate_reason == 0
        assert "contradictory OriginateResponse" in (rec.detail or "")

    def test_success_then_failure_keeps_the_success(self) -> None:
        events: list[tuple[float, ami.TypedEvent]] = [
            (0.1, ami.Newchannel(_ref(), 0, "dialer", "s")),
            (0.5, ami.Newstate(_ref(), 6, "Up")),
            (0.5, _or(True, 4)),
            (0.6, _or(False, 1)),
            (3.0, ami.Hangup(_ref(), 16, "Normal Clearing")),
        ]
        rec = _run(events)
        assert rec.outcome is Outcome.ABANDONED  # answered, no agent: what really happened
        assert rec.originate_reason == 4

    def test_a_repeated_answer_changes_nothing(self) -> None:
        tracker = CallTracker()
        tracker.originate("c1", action_id="c1", dial_string="PJSIP/2001@trunk", now=0.0)
        tracker.handle(ami.Newchannel(_ref(), 0, "dialer", "s"), 0.1)
        assert tracker.handle(_or(False, 0), 0.2)
        assert tracker.handle(_or(False, 0), 0.3) == [], "an exact duplicate is no change"

    def test_a_late_success_cannot_answer_a_call_whose_channel_never_went_up(self) -> None:
        rec = _run([(0.2, _or(False, 5)), (0.3, _or(True, 4))])
        assert rec.outcome is Outcome.BUSY and rec.answered_at is None


def _contradict(entries: Sequence[Entry]) -> list[Entry]:
    """After the real OriginateResponse Failure: the same again, then a Success."""
    out: list[Entry] = []
    for entry in entries:
        out.append(entry)
        if entry.direction == "recv" and entry.get("Event") == "OriginateResponse":
            out.append(entry)
            success = [
                line.replace("Failure", "Success") if line.startswith("Response:") else line
                for line in entry.lines
            ]
            success = ["Reason: 4" if line.startswith("Reason:") else line for line in success]
            out.append(replace(entry, lines=tuple(success)))
    return out


@pytest.mark.parametrize(("name", "outcome"), [("09_sipp_uas_busy", Outcome.BUSY), ("04_congestion", Outcome.CONGESTION)])
def test_replay_with_contradictory_responses(name: str, outcome: Outcome) -> None:
    assert replay(name).record().outcome is outcome
    r = replay(name, edit=_contradict)
    rec = r.record()
    assert rec.outcome is outcome and rec.answered_at is None
    assert len([c for c in r.call_changes if c.ended]) == 1
