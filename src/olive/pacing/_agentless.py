"""The agentless pacer: no agents to keep busy, only the plan's two hard limits.

An agentless campaign plays a message to whoever answers (docs/concepts.md), so
nothing waits for an agent: it dials as fast as the plan's calls-per-second cap
allows, up to its cap on calls in progress (ringing, playing the message, or put
through to an agent by the agent key). No forecast, no warm-up.
"""

from __future__ import annotations

from collections.abc import Mapping

from olive.pacing._base import DialDecision, Observation, PacingSnapshot
from olive.pacing._config import PacerConfig
from olive.pacing._simple import DialLimits


class AgentlessPacer:
    mode = "agentless"

    def __init__(self, config: PacerConfig | None = None) -> None:
        self._limits = DialLimits(config or PacerConfig())

    def decide(self, snapshot: PacingSnapshot) -> DialDecision:
        room, binding = self._limits.room(snapshot)
        return DialDecision(room, f"agentless: {room} more call(s) allowed by {binding}" if room else f"agentless: at {binding}")

    def observe(self, observation: Observation) -> None:
        self._limits.observe(observation)

    def estimates(self) -> Mapping[str, float]:
        return {}


__all__ = ["AgentlessPacer"]
