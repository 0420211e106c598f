"""The agentless pacer: the plan's concurrency and calls-per-second caps, no agents needed."""

from __future__ import annotations

from olive import pacing


def snapshot(now: float, *, dialing: int = 0, waiting: int = 0, max_concurrent: int = 10) -> pacing.PacingSnapshot:
    return pacing.PacingSnapshot(now=now, agents=(), dialing=(now,) * dialing, waiting=waiting,
                                 max_concurrent=max_concurrent, talking_calls=0)


def test_dials_without_agents_up_to_the_concurrency_cap() -> None:
    pacer = pacing.make_pacer("agentless", pacing.PacerConfig(max_concurrent=10, max_calls_per_second=100))
    assert pacer.mode == "agentless"
    assert pacer.decide(snapshot(0.0)).dials == 10
    # Calls ringing and calls playing the message both count.
    assert pacer.decide(snapshot(0.0, dialing=4, waiting=3)).dials == 3
    assert pacer.decide(snapshot(0.0, dialing=6, waiting=4)).dials == 0


def test_the_calls_per_second_cap_holds_across_decisions() -> None:
    pacer = pacing.make_pacer("agentless", pacing.PacerConfig(max_concurrent=100, max_calls_per_second=2))
    decision = pacer.decide(snapshot(0.0, max_concurrent=100))
    assert decision.dials == 2 and "calls per second" in decision.reason
    for _ in range(2):
        pacer.observe(pacing.DialPlaced(0.0))
    assert pacer.decide(snapshot(0.5, max_concurrent=100)).dials == 0
    assert pacer.decide(snapshot(1.0, max_concurrent=100)).dials == 2
