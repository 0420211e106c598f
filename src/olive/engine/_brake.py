"""The abandon cap of a campaign's compliance profile, applied to every dial mode."""

from __future__ import annotations

from olive import pacing


class AbandonBrake:
    """The compliance profile's abandon cap, whatever the dial mode.

    Under ``us-tsr`` (30 days) and ``uk-ofcom`` (24 hours) the abandon rate,
    to date and over the profile's window, must stay at or under the plan's
    target. While one more abandon would break it, power mode may not dial
    ahead of its agents: the decision is capped at the progressive floor (one
    call per idle agent with no call on the way). The predictive pacer keeps
    the same windows itself and pays a bad hour back more cheaply (the floor
    plus only near-riskless calls, see docs/pacing.md), so it is not braked
    twice; progressive never dials ahead anyway.
    """

    RESERVE = 1.0  # abandons of room needed to dial ahead of the agents

    def __init__(self, config: pacing.PacerConfig, mode: str = "power") -> None:
        self.active = config.compliance_profile is not pacing.ComplianceProfile.NONE and mode == "power"
        self.target = config.abandon_target
        self.windows_s = config.compliance_windows_s
        self.ledger = pacing.AbandonLedger(self.windows_s or (3600.0,))

    def record(self, at: float, abandoned: bool, count: int = 1) -> None:
        self.ledger.add(at, count, count if abandoned else 0)

    def record_machine(self, at: float, person_share: float) -> None:
        """A call AMD took for a machine: its estimated share of a person counts as abandoned."""
        self.ledger.record_machine(at, person_share)

    def budget(self, now: float) -> float:
        return self.ledger.budget(self.target, now, self.windows_s)

    def apply(self, snapshot: pacing.PacingSnapshot, decision: pacing.DialDecision) -> pacing.DialDecision:
        if not self.active:
            return decision
        floor = max(0, snapshot.idle_agents - snapshot.calls_in_flight)
        if decision.dials <= floor:
            return decision
        budget = self.budget(snapshot.now)
        if budget >= self.RESERVE:
            return decision
        return pacing.DialDecision(
            floor,
            f"abandon cap: {budget:.1f} abandon(s) of room under {self.target:.0%}, so no dialing ahead of agents; "
            f"{snapshot.idle_agents} idle agents, {snapshot.calls_in_flight} calls on the way (was: {decision.reason})",
            decision.estimates,
        )


__all__ = ["AbandonBrake"]
