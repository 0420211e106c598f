"""The one interface every pacer implements.

A pacer is pure: it is handed a :class:`PacingSnapshot` (with ``now``) and
returns a :class:`DialDecision`; it learns from :class:`Observation` values
fed to :meth:`Pacer.observe`. No asyncio, no clock, no I/O, so the same
object runs in the live engine, the simulator and the virtual-time benchmark.

What the engine feeds, and when (all times are seconds since the epoch):

- :class:`DialPlaced` when an Originate is sent;
- :class:`DialResolved` when a dial stops ringing: ``live=True`` if a person
  answered, ``False`` for no answer, busy, congestion, failure;
- :class:`CallConnected` when a live answer is bridged to an agent;
- :class:`CallAbandoned` when a live answer is dropped (no agent in time);
- :class:`HandleEnded` when an agent finishes a call's wrap-up;
- :class:`MachineDetected` when answering-machine detection (AMD) took an
  answered call for a machine: not a live answer, but ``person_share`` of a
  person hung up on (the plan's ``amd_false_positive_share``: Ofcom counts a
  person AMD took for a machine as abandoned). Abandon accounting adds that
  share to both the abandons and the live answers of its windows, as the
  compliance export does. With AMD, :class:`DialResolved` comes at AMD's
  verdict, not at the pick-up: ``live`` for a call that goes to the agents;
- :class:`RestoredLiveAnswer` (added for restarts): one per stored live answer,
  oldest first, before the first decision, so abandon accounting survives a
  restart. Pacers without abandon accounting ignore it.

Abandon accounting counts a live answer once, when its fate is known: at its
:class:`CallConnected` or :class:`CallAbandoned`, or as one
:class:`RestoredLiveAnswer` standing for either. So replaying a live answer
that way and replaying its :class:`DialResolved` (which only teaches the
answer-rate and timing estimates) never counts it twice.

Call :meth:`Pacer.decide` after every batch of observations and at least once
a second, with a snapshot that already counts the dials placed so far.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class AgentActivity(enum.Enum):
    IDLE = "idle"  # logged in, not paused, free for a call
    RINGING = "ringing"  # being offered a call by the queue
    TALKING = "talking"  # connected to a customer
    WRAPUP = "wrapup"  # after-call work, not yet free
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    activity: AgentActivity
    since: float  # when this activity began: talk start for TALKING, wrap-up start for WRAPUP


@dataclass(frozen=True, slots=True)
class PacingSnapshot:
    """What the campaign looks like at ``now``: the pacer's whole input."""

    now: float
    agents: tuple[AgentSnapshot, ...]  # logged-in agents of this campaign
    dialing: tuple[float, ...]  # dial start times of calls not yet answered or failed
    waiting: int = 0  # answered calls waiting in the queue for an agent
    max_concurrent: int = 1_000_000  # plan limit on calls in progress (dialing + waiting + talking)
    talking_calls: int = 0  # connected calls (agents TALKING may include ones not counted here)

    def count(self, activity: AgentActivity) -> int:
        return sum(1 for a in self.agents if a.activity is activity)

    @property
    def idle_agents(self) -> int:
        return self.count(AgentActivity.IDLE)

    @property
    def calls_in_flight(self) -> int:
        """Calls that will need an agent if they turn into live answers."""
        return len(self.dialing) + self.waiting


@dataclass(frozen=True, slots=True)
class DialDecision:
    dials: int
    reason: str  # one line for humans: why this many
    estimates: Mapping[str, float] = field(default_factory=dict)


# -- what a pacer learns from ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class DialPlaced:
    at: float


@dataclass(frozen=True, slots=True)
class DialResolved:
    """A dial ended ringing: answered by a person (``live``) or not."""

    at: float
    dialed_at: float
    live: bool


@dataclass(frozen=True, slots=True)
class CallConnected:
    at: float
    wait_s: float  # how long the answered customer waited for the agent


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    at: float
    wait_s: float


@dataclass(frozen=True, slots=True)
class HandleEnded:
    """An agent finished a call: talk then after-call work."""

    at: float
    talk_s: float
    wrapup_s: float


@dataclass(frozen=True, slots=True)
class MachineDetected:
    """AMD took an answered call for a machine (not offered to an agent): the estimated
    share of such calls that were people (``person_share``) counts as abandoned."""

    at: float
    person_share: float


@dataclass(frozen=True, slots=True)
class RestoredLiveAnswer:
    """A live answer from before a restart (or a new plan), replayed; ``count`` of them
    at ``at`` when replayed from counts kept in buckets."""

    at: float
    abandoned: bool
    count: int = 1


Observation = (
    DialPlaced
    | DialResolved
    | CallConnected
    | CallAbandoned
    | HandleEnded
    | RestoredLiveAnswer
    | MachineDetected
)


class Pacer(Protocol):
    mode: str

    def decide(self, snapshot: PacingSnapshot) -> DialDecision:
        """How many new calls to place now."""
        ...

    def observe(self, observation: Observation) -> None:
        """Learn from something that happened (time is in the observation)."""
        ...

    def estimates(self) -> Mapping[str, float]:
        """Current estimates for stats and the dashboard."""
        ...
