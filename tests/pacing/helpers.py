"""Builders for pacing tests: snapshots and observation streams, no fixtures."""

from __future__ import annotations

from collections.abc import Iterable
from random import Random

from olive.pacing import (
    AgentActivity,
    AgentSnapshot,
    CallAbandoned,
    CallConnected,
    DialPlaced,
    DialResolved,
    HandleEnded,
    Pacer,
    PacingSnapshot,
)

NOW = 1_800_000_000.0


def snapshot(
    *,
    idle: int = 0,
    talking: Iterable[float] = (),
    wrapup: Iterable[float] = (),
    paused: int = 0,
    dialing: Iterable[float] = (),
    waiting: int = 0,
    now: float = NOW,
    max_concurrent: int = 1_000_000,
) -> PacingSnapshot:
    """A campaign at ``now``: ``talking``/``wrapup`` are each busy agent's elapsed seconds,
    ``dialing`` each ringing call's elapsed seconds."""
    talking, wrapup = list(talking), list(wrapup)
    agents = (
        [AgentSnapshot(AgentActivity.IDLE, now - 5.0)] * idle
        + [AgentSnapshot(AgentActivity.TALKING, now - e) for e in talking]
        + [AgentSnapshot(AgentActivity.WRAPUP, now - e) for e in wrapup]
        + [AgentSnapshot(AgentActivity.PAUSED, now - 5.0)] * paused
    )
    return PacingSnapshot(
        now=now,
        agents=tuple(agents),
        dialing=tuple(now - e for e in dialing),
        waiting=waiting,
        max_concurrent=max_concurrent,
        talking_calls=len(talking),
    )


def teach(
    pacer: Pacer,
    *,
    dials: int = 600,
    answer_rate: float = 0.3,
    handles: int = 200,
    talk_s: float = 120.0,
    wrapup_s: float = 15.0,
    abandon_every: int = 0,
    start: float = NOW - 20_000.0,
    seed: int = 7,
) -> float:
    """Feed a plausible history (dials resolving, calls handled); return when it ends.

    Live answers connect, except every ``abandon_every``-th one, which is abandoned.
    """
    rng = Random(seed)
    t = start
    live = 0
    for _ in range(dials):
        t += 2.0
        pacer.observe(DialPlaced(t))
        if rng.random() < answer_rate:
            delay = 3.0 + rng.gammavariate(3, 3)
            pacer.observe(DialResolved(t + delay, t, live=True))
            live += 1
            if abandon_every and live % abandon_every == 0:
                pacer.observe(CallAbandoned(t + delay + 2.0, 2.0))
            else:
                pacer.observe(CallConnected(t + delay, 0.0))
        else:
            pacer.observe(DialResolved(t + (4.0 if rng.random() < 0.25 else 25.0), t, live=False))
    for _ in range(handles):
        t += 1.0
        pacer.observe(HandleEnded(t, rng.lognormvariate(4.44, 0.83) * talk_s / 120.0, wrapup_s))
    return t
