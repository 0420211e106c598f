"""Pacing: how many calls a campaign places now. Pure code, time passed in.

The engine asks :func:`make_pacer` for a pacer per campaign, then calls
``decide(snapshot)`` after every batch of observations (and at least once a
second) and ``observe(observation)`` for everything that happens; see
:mod:`olive.pacing._base` for what to feed and when. Modes: progressive,
power and predictive (docs/pacing.md explains each), and agentless (no agents:
the plan's concurrency and calls-per-second caps only).

Additions to the original interface: :class:`RestoredLiveAnswer`, an
observation for replaying stored live answers after a restart, and
:class:`AbandonLedger`, the abandon accounting the predictive pacer keeps
(also usable on its own for reports).
"""

from olive.pacing._abandon import AbandonLedger, AbandonRecord, WindowStats
from olive.pacing._agentless import AgentlessPacer
from olive.pacing._base import (
    AgentActivity,
    AgentSnapshot,
    CallAbandoned,
    CallConnected,
    DialDecision,
    DialPlaced,
    DialResolved,
    HandleEnded,
    MachineDetected,
    Observation,
    Pacer,
    PacingSnapshot,
    RestoredLiveAnswer,
)
from olive.pacing._config import ComplianceProfile, DialMode, PacerConfig
from olive.pacing._factory import make_pacer
from olive.pacing._predictive import PredictivePacer
from olive.pacing._simple import PowerPacer, ProgressivePacer

__all__ = [
    "AbandonLedger",
    "AbandonRecord",
    "AgentActivity",
    "AgentSnapshot",
    "AgentlessPacer",
    "CallAbandoned",
    "CallConnected",
    "ComplianceProfile",
    "DialDecision",
    "DialMode",
    "DialPlaced",
    "DialResolved",
    "HandleEnded",
    "MachineDetected",
    "Observation",
    "Pacer",
    "PacerConfig",
    "PacingSnapshot",
    "PowerPacer",
    "PredictivePacer",
    "ProgressivePacer",
    "RestoredLiveAnswer",
    "WindowStats",
    "make_pacer",
]
