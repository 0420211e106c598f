"""How a pacer is set up: the plan's limits, the abandon target and its windows."""

from __future__ import annotations

import enum
from dataclasses import dataclass

HOUR_S = 3600.0
DAY_S = 24 * HOUR_S


class DialMode(enum.Enum):
    PROGRESSIVE = "progressive"
    POWER = "power"
    PREDICTIVE = "predictive"
    AGENTLESS = "agentless"  # no agents: the plan's concurrency and calls-per-second caps only
    PREVIEW = "preview"  # the agent dials each contact from their page (engine/_preview.py)


class ComplianceProfile(enum.Enum):
    """Which abandon-rate window the law measures (see docs/pacing.md)."""

    US_TSR = "us-tsr"  # <= 3 % of live answers per campaign per 30 days
    UK_OFCOM = "uk-ofcom"  # <= 3 % per 24 hours
    NONE = "none"  # no legal window: the campaign-to-date rate is still kept at the target


_PROFILE_WINDOWS_S: dict[ComplianceProfile, tuple[float, ...]] = {
    ComplianceProfile.US_TSR: (30 * DAY_S,),
    ComplianceProfile.UK_OFCOM: (DAY_S,),
    ComplianceProfile.NONE: (),
}


@dataclass(frozen=True, slots=True)
class PacerConfig:
    """Settings shared by every dial mode; each mode reads the fields it needs.

    Durations are seconds. ``None`` means "no limit" for the two plan limits.
    """

    lines_per_agent: float = 2.0  # power mode: calls kept in flight per ready agent
    abandon_target: float = 0.03  # abandoned / live answers, never to be exceeded
    # The rate the predictive pacer steers to: a little under the target, so that
    # chance alone rarely carries the campaign-to-date rate over it. None: 95 % of target.
    abandon_aim: float | None = None
    max_concurrent: int | None = None  # the plan's cap on calls in progress
    max_calls_per_second: float | None = None  # the plan's originate rate cap
    compliance_profile: ComplianceProfile = ComplianceProfile.US_TSR
    # Rolling windows whose abandon rate must stay at or under the target, on top of
    # the campaign-to-date rate. None: the profile's legal window.
    guard_windows_s: tuple[float, ...] | None = None
    report_window_s: float = HOUR_S  # rolling window shown on the dashboard
    # Also steer the rolling report window (one hour), while it holds enough live answers
    # for its rate to be controllable (at least hour_guard_volume abandons allowed: at 3 %,
    # 167 live answers, about 8 busy agents). Abandons come in clusters, so the hour is
    # steered to leave hour_guard_sigmas standard deviations of its abandon count (about
    # the square root of the abandons allowed) under the target.
    hour_guard: bool = True
    hour_guard_volume: float = 5.0
    hour_guard_sigmas: float = 1.5
    # Keep, beyond the chance margin, the abandons an unseen rise in the answer rate would
    # cost: this many times the live answers the calls in flight are expected to bring
    # (1.0: the answer rate doubling before the pacer can tell; see docs/pacing.md).
    shock_factor: float = 1.0
    patience_s: float = 2.0  # how long a live answer may wait for an agent (2-second rule)
    # Cold start: the predictive pacer dials progressively until it has seen this much.
    warmup_resolved_dials: int = 100
    warmup_live_answers: int = 30
    warmup_handles: int = 30
    # Confidence: the pacer widens from progressive to its full forecast as the live answers
    # and the calls ended it has learned from grow to this many (linearly).
    confidence_samples: int = 300
    # ... or this many per logged-in agent, if fewer: a small team's young estimates can cost
    # only the few calls it places ahead of its agents.
    confidence_per_agent: int = 15
    # How much history the estimators weigh (in observations, not seconds).
    answer_rate_memory: int = 2000
    answer_rate_fast_memory: int = 200
    timing_samples: int = 600
    handle_samples: int = 1000
    # The abandon controller: how many live answers its integral looks back over.
    controller_memory: int = 1500

    def __post_init__(self) -> None:
        if not 0.0 < self.abandon_target < 1.0:
            raise ValueError(f"abandon_target must be in (0, 1), got {self.abandon_target}")
        if self.abandon_aim is not None and not 0.0 < self.abandon_aim <= self.abandon_target:
            raise ValueError("abandon_aim must be in (0, abandon_target]")
        if self.lines_per_agent < 0:
            raise ValueError("lines_per_agent must be >= 0")
        if self.max_concurrent is not None and self.max_concurrent < 0:
            raise ValueError("max_concurrent must be >= 0")
        if self.max_calls_per_second is not None and self.max_calls_per_second <= 0:
            raise ValueError("max_calls_per_second must be > 0")
        if self.hour_guard_sigmas < 0 or self.hour_guard_volume <= 0:
            raise ValueError("hour_guard_sigmas must be >= 0 and hour_guard_volume > 0")
        if self.shock_factor < 0:
            raise ValueError("shock_factor must be >= 0")
        if self.confidence_samples < 1 or self.confidence_per_agent < 1:
            raise ValueError("confidence_samples and confidence_per_agent must be >= 1")
        if self.patience_s <= 0:
            raise ValueError("patience_s must be > 0")
        for window in self.guard_windows_s or ():
            if window <= 0:
                raise ValueError("guard windows must be > 0 seconds")

    @property
    def aim(self) -> float:
        return self.abandon_aim if self.abandon_aim is not None else 0.95 * self.abandon_target

    @property
    def compliance_windows_s(self) -> tuple[float, ...]:
        """The rolling windows the pacer guards (the campaign to date is always guarded)."""
        if self.guard_windows_s is not None:
            return self.guard_windows_s
        return _PROFILE_WINDOWS_S[self.compliance_profile]

    @property
    def ledger_windows_s(self) -> tuple[float, ...]:
        """Every rolling window worth keeping counts for: guarded ones and the report one."""
        windows = {*self.compliance_windows_s, self.report_window_s}
        return tuple(sorted(windows))
