"""The two pacers that need no forecast: progressive and power.

Both only count. Progressive places one call per idle agent who has no call on
the way; power keeps ``lines_per_agent`` calls in flight per idle agent. They
still respect the plan's concurrent-call and calls-per-second limits, which
:class:`DialLimits` applies to every mode.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

from olive.pacing._base import (
    DialDecision,
    DialPlaced,
    Observation,
    PacingSnapshot,
)
from olive.pacing._config import PacerConfig


class DialLimits:
    """The plan's hard limits: max concurrent calls and max calls per second.

    It learns what was really originated from :class:`DialPlaced` observations,
    so two decisions within one second cannot together exceed the rate.
    """

    def __init__(self, config: PacerConfig) -> None:
        self._max_concurrent = config.max_concurrent
        self._max_cps = config.max_calls_per_second
        self._placed: deque[float] = deque()

    def observe(self, observation: Observation) -> None:
        if self._max_cps is not None and isinstance(observation, DialPlaced):
            self._placed.append(observation.at)

    def room(self, snapshot: PacingSnapshot) -> tuple[int, str]:
        """How many calls the limits allow now, and which limit binds ("" for none)."""
        in_progress = len(snapshot.dialing) + snapshot.waiting + snapshot.talking_calls
        concurrent = snapshot.max_concurrent
        if self._max_concurrent is not None:
            concurrent = min(concurrent, self._max_concurrent)
        room, binding = concurrent - in_progress, "max concurrent calls"
        if self._max_cps is not None:
            # Sliding window: floor(rate) calls per second, or one call per 1/rate
            # seconds when the rate is under one per second.
            window = max(1.0, 1.0 / self._max_cps)
            per_window = max(1, math.floor(self._max_cps * window + 1e-9))
            placed = self._placed
            while placed and placed[0] <= snapshot.now - window:
                placed.popleft()
            allowed = per_window - len(placed)
            if allowed < room:
                room, binding = allowed, "max calls per second"
        return max(0, room), binding

    def apply(self, dials: int, reason: str, snapshot: PacingSnapshot) -> tuple[int, str]:
        room, binding = self.room(snapshot)
        if dials > room:
            return room, f"{reason}; capped at {room} by {binding}"
        return dials, reason


class ProgressivePacer:
    mode = "progressive"

    def __init__(self, config: PacerConfig | None = None) -> None:
        self._limits = DialLimits(config or PacerConfig())

    def decide(self, snapshot: PacingSnapshot) -> DialDecision:
        idle, in_flight = snapshot.idle_agents, snapshot.calls_in_flight
        dials, reason = self._limits.apply(
            max(0, idle - in_flight), f"{idle} idle agents, {in_flight} calls on the way", snapshot
        )
        return DialDecision(dials, reason)

    def observe(self, observation: Observation) -> None:
        self._limits.observe(observation)

    def estimates(self) -> Mapping[str, float]:
        return {"dial_level": 1.0}


class PowerPacer:
    mode = "power"

    def __init__(self, config: PacerConfig | None = None) -> None:
        config = config or PacerConfig()
        self._lines_per_agent = config.lines_per_agent
        self._limits = DialLimits(config)

    def decide(self, snapshot: PacingSnapshot) -> DialDecision:
        idle, in_flight = snapshot.idle_agents, snapshot.calls_in_flight
        lines = math.floor(self._lines_per_agent * idle + 1e-9)
        dials, reason = self._limits.apply(
            max(0, lines - in_flight),
            f"{self._lines_per_agent:g} lines x {idle} idle agents, {in_flight} calls on the way",
            snapshot,
        )
        return DialDecision(dials, reason)

    def observe(self, observation: Observation) -> None:
        self._limits.observe(observation)

    def estimates(self) -> Mapping[str, float]:
        return {"dial_level": self._lines_per_agent, "lines_per_agent": self._lines_per_agent}


class PreviewPacer:
    """Preview mode: olive places no call by itself; each ready agent is shown a contact
    and dials it (or skips it) from their page (engine/_preview.py)."""

    mode = "preview"

    def __init__(self, config: PacerConfig | None = None) -> None:
        self._limits = DialLimits(config or PacerConfig())

    def decide(self, snapshot: PacingSnapshot) -> DialDecision:
        return DialDecision(0, f"preview: {snapshot.idle_agents} ready agent(s) choose their calls on their page")

    def observe(self, observation: Observation) -> None:
        self._limits.observe(observation)

    def estimates(self) -> Mapping[str, float]:
        return {"dial_level": 1.0}
