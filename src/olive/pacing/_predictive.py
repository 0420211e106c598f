"""The predictive pacer: as many calls as the agents about to be free can take.

Each decision:

1. **Cold start.** Until it has seen ``warmup_resolved_dials`` dials resolve,
   ``warmup_live_answers`` live answers and ``warmup_handles`` handled calls,
   it dials progressively (one call per idle agent with no call on the way).
2. **Forecast.** Otherwise it places that progressive floor and adds calls one
   by one while the forecast risk of the next one, the probability that its
   live answer costs an abandon, stays within a threshold
   (:mod:`olive.pacing._forecast`). The threshold is learned by
   :mod:`olive.pacing._controller` so that the abandon rate settles at the aim
   (a little under the target).
3. **Payback.** The guarded windows are the campaign to date, the profile's
   legal window and, while it is busy enough to be controlled (at least five
   abandons allowed), the last hour; each has an aim and a reserve
   (:meth:`PredictivePacer.guarded`). The threshold shrinks when a window is
   over its aim, reaching its floor (5 % of the target) at three abandons
   over: an excess is paid back, not averaged away. If a window has less than
   its reserve left under the *target*, the budget is spent: the pacer places
   the progressive floor and only calls at the floor threshold, all but certain
   to find an agent. Each of their live answers lowers the rate, which is how a
   bad hour is paid back.
4. **Limits.** The plan's max concurrent calls and max calls per second cap
   the result, in every case.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from typing import NamedTuple

from olive.pacing._abandon import AbandonLedger, WindowStats
from olive.pacing._base import (
    CallAbandoned,
    CallConnected,
    DialDecision,
    DialResolved,
    HandleEnded,
    MachineDetected,
    Observation,
    PacingSnapshot,
    RestoredLiveAnswer,
)
from olive.pacing._config import PacerConfig
from olive.pacing._controller import AbandonController
from olive.pacing._estimators import AnswerModel, HandleModel
from olive.pacing._forecast import Forecast, forecast
from olive.pacing._simple import DialLimits

_BUDGET_RESERVE = 1.0  # abandons of room the budget must leave to dial ahead of agents
_AIM_OVERRUN = 3.0  # abandons over the aim at which the risk threshold has shrunk to its floor
_THRESHOLD_FLOOR = 0.05  # of the target: calls this safe are placed even while paying back the aim
_OUTCOME_WAIT_S = 120.0  # a live answer with no outcome after this long is forgotten
_MARGIN_HOURS = 4.0  # a long window's margin is the spread of this many hours' abandons


class AbandonClusters:
    """How abandons bunch: one overflow drops several calls, more in a big team.

    Abandons less than ``gap_s`` apart are one cluster. The abandon count of a
    window is then compound Poisson: its variance is the expected count times
    ``E[size^2] / E[size]`` (the dispersion, 1 for lone abandons), which the
    guards' steering margin and reserve use. Before any is seen, ``prior``
    clusters of the team's typical size are assumed: ``sqrt(team / 8)``
    abandons, at least 1 (measured dispersions, seed 2, first 30 minutes:
    1.4 at 20 agents, 2.6 at 50, 3.5 at 200; the prior is 1.6, 2.5 and 5.0),
    so a big team's first overflow cannot find a reserve sized for lone
    abandons.
    """

    def __init__(self, gap_s: float = 5.0, prior: float = 3.0) -> None:
        self._gap_s = gap_s
        self._prior = prior
        self._last = -math.inf
        self._size = 0
        self._sum = self._sum_sq = 0.0

    def abandoned(self, at: float) -> None:
        if at - self._last > self._gap_s and self._size:
            self._sum += self._size
            self._sum_sq += self._size**2
            self._size = 0
        self._size += 1
        self._last = at

    @staticmethod
    def typical_size(team: int) -> float:
        """The cluster size assumed before any is seen: ``sqrt(team / 8)``, at least 1."""
        return max(1.0, math.sqrt(team / 8.0))

    def dispersion_for(self, team: int) -> float:
        """``E[size^2] / E[size]`` of the clusters seen, with the prior's for a team this size."""
        size, prior, typical = self._size, self._prior, self.typical_size(team)
        return (prior * typical**2 + self._sum_sq + size**2) / (prior * typical + self._sum + size)

    @property
    def dispersion(self) -> float:
        """The dispersion with lone abandons as the prior."""
        return self.dispersion_for(0)


class Guard(NamedTuple):
    """A window the pacer keeps at or under the target."""

    stats: WindowStats
    aim: float  # the rate it is steered to
    reserve: float  # abandons of room it keeps under the target before the budget is spent


def _window_name(window_s: float | None) -> str:
    if window_s is None:
        return "campaign to date"
    if window_s % 86400 == 0:
        return f"last {window_s / 86400:g} days" if window_s > 86400 else "last 24 h"
    if window_s % 3600 == 0:
        return f"last {window_s / 3600:g} h" if window_s > 3600 else "last hour"
    return f"last {window_s:g} s"


class PredictivePacer:
    mode = "predictive"

    def __init__(self, config: PacerConfig | None = None) -> None:
        self.config = config = config or PacerConfig()
        self._answers = AnswerModel(
            config.answer_rate_memory, config.answer_rate_fast_memory, config.timing_samples
        )
        self._handles = HandleModel(config.handle_samples)
        self.ledger = AbandonLedger(config.ledger_windows_s)
        self._controller = AbandonController(config.aim, config.controller_memory)
        self._limits = DialLimits(config)
        # When the pacer switched between forecast and progressive dialing, so that a
        # live answer's outcome teaches the controller only if it was dialed on the forecast.
        self._switch_times: list[float] = [float("-inf")]
        self._switch_ahead: list[bool] = [False]
        self._pending: deque[tuple[float, bool]] = deque()  # live answers awaiting an outcome
        self._forecast: Forecast | None = None
        self._phase = "cold start"
        self._now = 0.0
        self._team = 0
        self.clusters = AbandonClusters()
        self._hourly_capacity = math.inf  # live answers the team could take in an hour
        self._capacity_key = (-1, -1)
        self._shock = 0.0  # abandons an unseen rise in the answer rate could cost (decide sets it)

    # -- learning ---------------------------------------------------------------
    def observe(self, observation: Observation) -> None:
        self._limits.observe(observation)
        self._answers.advance(observation.at)
        if isinstance(observation, DialResolved):
            self._answers.observe(observation.dialed_at, observation.at, observation.live)
            if observation.live:
                mode = self._switch_ahead[bisect_right(self._switch_times, observation.dialed_at) - 1]
                self._pending.append((observation.at, mode))
        elif isinstance(observation, CallConnected | CallAbandoned):
            abandoned = isinstance(observation, CallAbandoned)
            self.ledger.record(observation.at, abandoned)
            if abandoned:
                self.clusters.abandoned(observation.at)  # a live answer counts once its fate is known
            if self._dialed_on_forecast(observation.at - observation.wait_s):
                self._controller.outcome(abandoned)
        elif isinstance(observation, HandleEnded):
            self._handles.observe(observation.talk_s, observation.wrapup_s, observation.at)
        elif isinstance(observation, MachineDetected):
            self.ledger.record_machine(observation.at, observation.person_share)
        elif isinstance(observation, RestoredLiveAnswer):
            count = observation.count
            self.ledger.add(observation.at, count, count if observation.abandoned else 0)
            if observation.abandoned:
                for _ in range(count):
                    self.clusters.abandoned(observation.at)

    def _dialed_on_forecast(self, answered_at: float) -> bool:
        """Take the pending live answer answered at ``answered_at``: was it dialed on the forecast?"""
        pending = self._pending
        while pending and pending[0][0] < answered_at - _OUTCOME_WAIT_S:
            pending.popleft()
        best = min(range(min(8, len(pending))), key=lambda i: abs(pending[i][0] - answered_at), default=None)
        if best is None:
            return False
        _, on_forecast = pending[best]
        del pending[best]
        return on_forecast

    def _switch(self, now: float, ahead: bool) -> None:
        if self._switch_ahead[-1] != ahead:
            self._switch_times.append(now)
            self._switch_ahead.append(ahead)
            if len(self._switch_times) > 4096:  # keep the last few hours of switches
                del self._switch_times[1:2048], self._switch_ahead[1:2048]

    @property
    def warm(self) -> bool:
        config = self.config
        return (
            self._answers.resolved >= config.warmup_resolved_dials
            and self._answers.live_answers >= config.warmup_live_answers
            and self._handles.handled >= config.warmup_handles
        )

    def guarded(self, now: float) -> list[Guard]:
        """Each window kept at or under the target: the aim it is steered to, the room it keeps."""
        config, ledger = self.config, self.ledger
        dispersion = self.clusters.dispersion_for(self._team)
        hour = ledger.window(config.report_window_s, now)
        # what the next few hours can add: the last hour's live answers, or, if more, what the team
        # could take in an hour (a team back from a pause, or just grown, gets its size's margin)
        horizon = _MARGIN_HOURS * max(hour.live_answers, self._hourly_capacity)
        windows = [self._steered(ledger.campaign(), horizon, dispersion)]
        windows += [self._steered(ledger.window(w, now), horizon, dispersion) for w in config.compliance_windows_s]
        if config.hour_guard:
            allowed = config.abandon_target * hour.live_answers
            if allowed >= config.hour_guard_volume:
                sigma = math.sqrt(allowed * dispersion)  # the spread of the hour's abandon count
                steer_to = max(0.0, allowed - config.hour_guard_sigmas * sigma)
                steer_to = max(0.0, steer_to - self._shock)
                reserve = max(1.0, sigma) + self._shock
                windows.append(Guard(hour, min(config.aim, steer_to / hour.live_answers), reserve))
        return windows

    def _steered(self, stats: WindowStats, horizon: float, dispersion: float) -> Guard:
        """A legal window (or the campaign to date), steered with abandons' clusters in mind.

        Its margin (1.5 sigma) and reserve (sigma) are the spread of the abandon count of the
        window, or of the live answers of ``_MARGIN_HOURS`` hours (``horizon``) if fewer: a long
        window's rate rises only by what arrives in it, so past a few hours the margin stops
        growing with the window (a 5-agent team 20 hours in is steered to 2.7 %, not 2.4 %). Not
        one hour: with an hour's spread (2 abandons at 5 agents) as its reserve, a5-p0.15 went
        over 3 % to date 4.5 hours in (14 of 456), the calls already placed when the budget ran
        out adding 2; the spread of four hours' count keeps 4 in reserve there.
        """
        config = self.config
        allowed = config.abandon_target * stats.live_answers
        sigma = math.sqrt(config.abandon_target * min(stats.live_answers, horizon) * dispersion)
        steer_to = max(0.0, allowed - config.hour_guard_sigmas * sigma - self._shock)
        aim = min(config.aim, steer_to / stats.live_answers) if stats.live_answers else 0.0
        return Guard(stats, aim, max(_BUDGET_RESERVE, sigma) + self._shock)

    def room(self, now: float) -> float:
        """Abandons still allowed under the target beyond each window's reserve (the least).

        Negative: the budget is spent.
        """
        return self._tightest(now)[0]

    def _tightest(self, now: float) -> tuple[float, Guard]:
        target = self.config.abandon_target
        return min(((g.stats.budget(target) - g.reserve, g) for g in self.guarded(now)), key=lambda rg: rg[0])

    # -- deciding ---------------------------------------------------------------
    def decide(self, snapshot: PacingSnapshot) -> DialDecision:
        self._now = snapshot.now
        self._team = len(snapshot.agents)
        if (key := (self._team, self._handles.handled)) != self._capacity_key:  # means cost O(samples)
            self._capacity_key = key
            handle = self._handles.mean_talk() + self._handles.mean_wrapup()
            self._hourly_capacity = self._team * 3600.0 / handle if handle > 0.0 else math.inf
        self._answers.settle(snapshot.now, min(snapshot.dialing) if snapshot.dialing else None)
        idle, in_flight = snapshot.idle_agents, snapshot.calls_in_flight
        floor = max(0, idle - in_flight)
        warm = self.warm
        fc: Forecast | None = None
        if warm:
            self._answers.watch(snapshot.now, snapshot.dialing)
            fc = self._forecast = forecast(snapshot, self._answers, self._handles, self.config.patience_s)
            # an unseen rise: the calls in flight bring `factor` times more live answers than
            # planned, none of them with an agent planned
            on_the_way = max(0.0, fc.expected_live_answers_ahead - snapshot.waiting)
            self._shock = self.config.shock_factor * on_the_way
        if fc is None:
            self._phase = "cold start"
            self._switch(snapshot.now, ahead=False)
            dials, reason = floor, f"cold start, progressive: {idle} idle agents, {in_flight} calls on the way"
        elif (tight := self._tightest(snapshot.now))[0] < 0.0:
            self._phase = "paying back"
            self._switch(snapshot.now, ahead=False)
            dials, reason = self._forecast_dials(snapshot, fc, floor, 0.0)
            room, guard = tight
            reason = (
                f"abandon budget spent ({_window_name(guard.stats.window_s)}: {guard.stats.abandons:g} of "
                f"{guard.stats.live_answers:g} live answers, reserve short by {-room:.1f}): "
                f"near-riskless calls only; {reason}"
            )
        else:
            self._phase = "predictive"
            overrun = max(g.stats.abandons - g.aim * g.stats.live_answers for g in self.guarded(snapshot.now))
            scale = max(0.0, min(1.0, 1.0 - overrun / _AIM_OVERRUN))
            self._switch(snapshot.now, ahead=True)
            dials, reason = self._forecast_dials(snapshot, fc, floor, scale)
        dials, reason = self._limits.apply(dials, reason, snapshot)
        return DialDecision(dials, reason, self._decision_estimates())

    @property
    def confidence(self) -> float:
        """From 0 to 1 as the live answers and ended calls learned from reach :meth:`evidence_needed`."""
        seen = min(self._answers.live_answers, self._handles.handled)
        return min(1.0, seen / self.evidence_needed(self._team))

    def evidence_needed(self, team: int) -> int:
        """Live answers and ended calls for full confidence: ``confidence_samples`` (300) from 20
        agents up, 5 per agent from 60 up, 15 per agent below 20.

        What a young estimate can cost is the calls one decision places ahead of agents on it,
        about the agents expected free within an answer time, which grows with the team: a
        5-agent team has one or two agents free at a time, so an error in its estimates costs a
        call or two, however young; 15 samples per agent is the evidence a 20-agent team has at
        300. The cold start's minimums (30 live answers and 30 calls ended) still apply.
        """
        config = self.config
        return max(min(config.confidence_samples, config.confidence_per_agent * team), 5 * team, 1)

    def bound(self, fc: Forecast, floor: int) -> int:
        """The most calls one decision may place: the progressive floor, plus calls for the agents
        the forecast expects free (idle, or busy and free by the longest answer time plus the
        connect limit) beyond the live answers already on the way, one live answer each at the
        answer rate's upper bound, scaled by the confidence.
        """
        spare = fc.free_mean[-1] - fc.demand_mean[-1]
        p_high = min(1.0, fc.answer_rate + 2.0 * math.sqrt(fc.answer_rate_var))
        if spare <= 0.0 or p_high <= 0.0:
            return floor
        return floor + math.ceil(self.confidence * spare / p_high)

    def _forecast_dials(self, snapshot: PacingSnapshot, fc: Forecast, floor: int, scale: float) -> tuple[int, str]:
        confidence = self.confidence
        threshold = max(
            self._controller.threshold * scale * confidence, _THRESHOLD_FLOOR * self.config.abandon_target
        )
        room, _ = self._limits.room(snapshot)
        bound = self.bound(fc, floor)
        ceiling = min(room, bound)
        dials = floor
        while dials < ceiling and fc.abandon_probability(dials) <= threshold:
            dials += 1
        return dials, (
            f"predictive: {fc.expected_free_agents:.1f} agents free within "
            f"{fc.times[len(fc.times) // 2]:.0f} s, "
            f"{fc.expected_live_answers_ahead:.1f} live answers on the way, "
            f"answer rate {fc.answer_rate:.2f}, risk threshold {threshold:.3f}, "
            f"confidence {confidence:.2f}, at most {bound} calls"
        )

    # -- reporting --------------------------------------------------------------
    def _decision_estimates(self) -> Mapping[str, float]:
        out = {"answer_rate": self._answers.cautious_rate, "risk_threshold": self._controller.threshold}
        if self._phase == "predictive" and self._forecast is not None:
            out["expected_free_agents"] = self._forecast.expected_free_agents
            out["expected_live_answers_ahead"] = self._forecast.expected_live_answers_ahead
        return out

    def estimates(self) -> Mapping[str, float]:
        answers, handles = self._answers, self._handles
        out = {
            "answer_rate": answers.rate,
            "answer_rate_recent_rise": answers.recent_rise or 0.0,
            "answer_delay_mean_s": answers.mean_answer_delay(),
            "non_answer_mean_s": answers.mean_non_answer_time(),
            "talk_mean_s": handles.mean_talk(),
            "wrapup_mean_s": handles.mean_wrapup(),
            "resolved_dials": float(answers.resolved),
            "handled_calls": float(handles.handled),
            "risk_threshold": self._controller.threshold,
            "warm": 1.0 if self.warm else 0.0,
            "paying_back": 1.0 if self._phase == "paying back" else 0.0,
            "abandon_rate": self.ledger.campaign().rate,
            "abandon_dispersion": self.clusters.dispersion_for(self._team),
            "rise_reserve": self._shock,
            "confidence": self.confidence,
        }
        for stats in self.ledger.stats(self._now)[1:]:
            out[f"abandon_rate_{stats.window_s:g}s"] = stats.rate
        if self._forecast is not None:
            out["expected_free_agents"] = self._forecast.expected_free_agents
            out["expected_live_answers_ahead"] = self._forecast.expected_live_answers_ahead
        return out
