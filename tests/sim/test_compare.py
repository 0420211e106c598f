"""The conformance comparison's allowance for whole-second crossings (tests/sim/compare.py)."""

from __future__ import annotations

from tests.sim.compare import _average_fix, _second_fix
from tests.sim.replay import Message


def _m(kind: str, **headers: str) -> Message:
    return Message(0.0, kind, tuple(headers.items()))


RECORDED_TALK = [_m("AgentConnect", Timestamp="100.98"), _m("AgentComplete", Timestamp="130.97", TalkTime="30")]
# Replayed a few ms late at the start: 101.01 -> 130.99 is 29 whole seconds, not 30.
REPLAYED_TALK = [_m("AgentConnect", Timestamp="101.01"), _m("AgentComplete", Timestamp="130.99", TalkTime="29")]


def test_a_crossed_second_is_taken_back_and_noted() -> None:
    shifted: set[str] = set()
    fixed = _second_fix(RECORDED_TALK, REPLAYED_TALK, shifted)
    assert fixed[1].get("TalkTime") == "30"
    assert shifted == {"TalkTime"}


def test_the_queue_average_follows_a_crossing_by_one_second_only() -> None:
    want = [_m("QueueParams", TalkTime="30", Holdtime="4")]
    assert _average_fix(want, [_m("QueueParams", TalkTime="29", Holdtime="4")], {"TalkTime"})[0].get("TalkTime") == "30"
    # Two seconds apart is a real difference, kept for the comparison to report.
    assert _average_fix(want, [_m("QueueParams", TalkTime="28", Holdtime="4")], {"TalkTime"})[0].get("TalkTime") == "28"
    # No talk time crossed in this replay: nothing is forgiven, hold times included.
    assert _average_fix(want, [_m("QueueParams", TalkTime="29", Holdtime="5")], set())[0].get("TalkTime") == "29"
    assert _average_fix(want, [_m("QueueParams", TalkTime="30", Holdtime="5")], {"TalkTime"})[0].get("Holdtime") == "5"
