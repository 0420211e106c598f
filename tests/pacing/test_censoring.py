"""Estimates while calls are in flight: a known campaign, checked from its first minutes (issue 11)."""

from __future__ import annotations

import copy
import heapq
import math
from random import Random

import pytest

from olive.pacing._estimators import AnswerModel, HandleModel
from olive.pacing._survival import kaplan_meier

ANSWER_RATE = 0.3
TALK_MEAN_S, TALK_CV = 120.0, 1.0


def answer_delay(rng: Random) -> float:
    while True:
        d = 3.0 + rng.gammavariate(3, 3.0)
        if d <= 24.0:
            return d


def dial_campaign(
    marks: tuple[int, ...], per_second: int = 5, seed: int = 1
) -> dict[int, tuple[AnswerModel, float]]:
    """Dials ``per_second`` a second from 0; at each whole second the model is settled as the pacer does.

    At each second in ``marks``: a copy of the model, and the fraction live of the results so far
    counted in the order they arrived (what the pacer used to learn from).
    """
    rng = Random(seed)
    model = AnswerModel()
    resolutions: list[tuple[float, float, bool]] = []  # (at, dialed at, live)
    ringing: dict[float, int] = {}
    arrivals = live_arrivals = 0
    seen: dict[int, tuple[AnswerModel, float]] = {}
    for second in range(max(marks) + 1):
        now = float(second)
        while resolutions and resolutions[0][0] <= now:
            at, dialed_at, live = heapq.heappop(resolutions)
            model.observe(dialed_at, at, live)
            ringing[dialed_at] -= 1
            arrivals += 1
            live_arrivals += live
        for k in range(per_second):
            dialed_at = now + k / per_second
            live = rng.random() < ANSWER_RATE
            took = answer_delay(rng) if live else (4.0 if rng.random() < 0.25 else 25.0)
            heapq.heappush(resolutions, (dialed_at + took, dialed_at, live))
            ringing[dialed_at] = ringing.get(dialed_at, 0) + 1
        oldest = min((t for t, n in ringing.items() if n), default=None)
        model.settle(now, oldest)
        if second in marks:
            seen[second] = (copy.deepcopy(model), live_arrivals / arrivals if arrivals else math.nan)
    return seen


class TestAnswerRate:
    def test_counts_dials_in_the_order_placed_from_the_first_minute(self) -> None:
        seen = dial_campaign((30, 60, 180))
        _, arrival_order_30 = seen[30]
        # Counted as results arrive, the first half-minute is all fast failures and live answers:
        # ring-outs (25 s) have barely begun to come back.
        assert arrival_order_30 > 0.4
        model_60, _ = seen[60]
        assert model_60.resolved >= 150  # about 35 s of dials, each cohort complete
        assert model_60.rate == pytest.approx(ANSWER_RATE, abs=0.06)
        model_180, _ = seen[180]
        assert model_180.rate == pytest.approx(ANSWER_RATE, abs=0.035)
        # The answer-time sample is a whole cohort too: its mean is the true one (about 11.6 s).
        assert model_180.mean_answer_delay() == pytest.approx(11.6, abs=0.8)
        assert model_180.mean_non_answer_time() == pytest.approx(0.25 * 4 + 0.75 * 25, abs=1.0)

    def test_without_snapshots_a_dial_is_resolved_after_a_minute(self) -> None:
        model = AnswerModel()
        model.observe(0.0, 4.0, live=False)
        model.observe(1.0, 9.0, live=True)
        assert model.resolved == 0 and model.held == 2
        model.advance(62.0)
        assert model.resolved == 2 and model.live_answers == 1


def talk_campaign(agents: int, until_s: float, seed: int = 2) -> tuple[HandleModel, list[float]]:
    """Every agent starts talking at 0 and takes the next call the moment one ends (no wrap-up)."""
    rng = Random(seed)
    sigma = math.sqrt(math.log(1 + TALK_CV**2))
    mu = math.log(TALK_MEAN_S) - sigma**2 / 2

    model = HandleModel()
    ends = [(rng.lognormvariate(mu, sigma), 0.0) for _ in range(agents)]  # (end, start)
    heapq.heapify(ends)
    ended: list[float] = []
    while ends[0][0] <= until_s:
        end, start = heapq.heappop(ends)
        model.observe(end - start, 0.0, end)
        ended.append(end - start)
        heapq.heappush(ends, (end + rng.lognormvariate(mu, sigma), end))
    model.tables((10.0, 20.0), until_s, [start for _, start in ends])
    return model, ended


class TestTalkTime:
    @pytest.mark.parametrize("minutes", [2, 4, 10])
    def test_mass_login_talk_time_from_the_first_minutes(self, minutes: int) -> None:
        model, ended = talk_campaign(agents=300, until_s=60.0 * minutes)
        naive = sum(ended) / len(ended)
        assert naive < 0.85 * TALK_MEAN_S  # the calls that have ended are the short ones
        assert model.survival is not None
        # Kaplan-Meier with the calls in progress censored: the true distribution, where it has data.
        for t in (30.0, 60.0, 90.0):
            true = 0.5 * math.erfc((math.log(t) - (math.log(TALK_MEAN_S) - 0.3466)) / (0.8326 * math.sqrt(2)))
            assert model.survival(t) == pytest.approx(true, abs=0.05)
        # The mean needs the tail, which is taken on the safe (long) side while it is unseen.
        assert 0.85 * TALK_MEAN_S < model.mean_talk() < 1.6 * TALK_MEAN_S

    def test_kaplan_meier_without_censoring_is_the_empirical_distribution(self) -> None:
        s = kaplan_meier([1.0, 2.0, 3.0, 4.0], [], tail_at_risk=1)
        assert [s(t) for t in (0.5, 1.5, 2.5)] == [1.0, 0.75, 0.5]

    def test_a_censored_observation_leaves_the_risk_set_without_an_event(self) -> None:
        s = kaplan_meier([1.0, 3.0, 4.0], [2.0], tail_at_risk=1)
        assert s(1.5) == 0.75
        assert s(3.5) == pytest.approx(0.75 * (1 - 1 / 2))


def test_a_big_batch_is_learned_in_an_order_that_does_not_follow_its_outcomes() -> None:
    # One decision places 2,000 calls at the same instant (a 3 % answer rate needs many);
    # they resolve fast failures first, live answers next, ring-outs last. Fed in that order,
    # the 200-dial fast memory read 0 %, then far too much, and the rate swung by tens.
    model = AnswerModel()
    rng = Random(4)
    for batch in range(10):
        t0 = 100.0 * batch
        outcomes = [(4.0 if rng.random() < 0.25 else 25.0, False) for _ in range(1940)]
        outcomes += [(answer_delay(rng), True) for _ in range(60)]
        for took, live in sorted(outcomes):  # in the order they come back
            model.observe(t0, t0 + took, live)
        model.settle(t0 + 30.0, None)
        if batch >= 2:
            assert model.rate == pytest.approx(0.03, abs=0.01), batch
    assert model.shifts == 0
