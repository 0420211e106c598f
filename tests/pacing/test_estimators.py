"""AnswerModel, HandleModel and the forecast built from them."""

from __future__ import annotations

from random import Random

import pytest

from olive.pacing._base import AgentActivity
from olive.pacing._controller import AbandonController
from olive.pacing._estimators import AnswerModel, HandleModel
from olive.pacing._forecast import forecast

from .helpers import NOW, snapshot


def answers(rate: float, n: int, seed: int = 1, model: AnswerModel | None = None) -> AnswerModel:
    model = model or AnswerModel()
    rng = Random(seed)
    for i in range(n):
        live = rng.random() < rate
        model.observe(float(i), i + (12.0 if live else 25.0), live)
    return model


def handles(n: int = 500, talk_s: float = 120.0, wrapup_s: float = 15.0) -> HandleModel:
    model = HandleModel()
    rng = Random(3)
    for _ in range(n):
        model.observe(rng.expovariate(1 / talk_s), wrapup_s)
    return model


class TestAnswerModel:
    def test_learns_the_rate(self) -> None:
        assert answers(0.3, 3000).rate == pytest.approx(0.3, abs=0.025)

    def test_jumps_to_a_real_change_and_ignores_noise(self) -> None:
        model = answers(0.3, 4000)
        assert model.shifts == 0
        answers(0.1, 600, seed=2, model=model)
        assert model.shifts >= 1
        assert model.rate == pytest.approx(0.1, abs=0.03)

    def test_a_call_ringing_past_every_answer_will_not_be_answered(self) -> None:
        model = answers(0.3, 1000)
        times, _, ringing, _ = model.tables(4)
        assert times[-1] == pytest.approx(12.0)
        assert ringing[0][0][-1] > 0.25  # fresh: about the answer rate
        assert ringing[13][0] == (0.0,) * len(times)  # rang past the 12 s every answer took


class TestHandleModel:
    def test_probabilities_grow_with_the_horizon(self) -> None:
        rows, _, wrapup_rows = handles().tables((5.0, 10.0, 20.0, 40.0))
        for probabilities, variances in rows:
            assert list(probabilities) == sorted(probabilities)
            assert all(0.0 <= v <= 0.25 for v in variances)
        assert wrapup_rows[14][0] == (1.0, 1.0, 1.0, 1.0)  # 14.5 s into a 15 s wrap-up
        assert wrapup_rows[2][0] == (0.0, 0.0, 1.0, 1.0)

    def test_no_one_talking_is_free_before_the_wrap_up_is_over(self) -> None:
        rows, _, _ = handles(wrapup_s=15.0).tables((10.0,))
        assert all(p == (0.0,) for p, _ in rows)


class TestForecast:
    def test_risk_grows_with_every_extra_call(self) -> None:
        fc = forecast(snapshot(talking=[60.0] * 10, wrapup=[10.0] * 3), answers(0.3, 1500), handles(), 2.0)
        risks = [fc.abandon_probability(n) for n in range(0, 30, 3)]
        assert risks == sorted(risks)
        assert risks[0] < 0.05 < risks[-1]

    def test_idle_agents_make_a_call_safe(self) -> None:
        fc = forecast(snapshot(idle=10), answers(0.3, 1500), handles(), 2.0)
        assert fc.abandon_probability(0) < 1e-6

    def test_no_one_to_take_it_makes_it_certain(self) -> None:
        fc = forecast(snapshot(talking=[1.0] * 5, waiting=2), answers(0.3, 1500), handles(), 2.0)
        assert fc.abandon_probability(0) > 0.99

    def test_agents_being_offered_a_call_count_as_busy(self) -> None:
        snap = snapshot(idle=2)
        ringing_agents = type(snap)(
            now=NOW,
            agents=tuple(a.__class__(AgentActivity.RINGING, NOW) for a in snap.agents),
            dialing=(),
        )
        fc = forecast(ringing_agents, answers(0.3, 1500), handles(), 2.0)
        assert fc.free_mean[0] < 0.1


class TestAbandonController:
    def test_abandons_lower_and_connects_raise_the_threshold(self) -> None:
        controller = AbandonController(aim=0.03, memory=1000)
        start = controller.threshold
        controller.outcome(abandoned=True)
        lowered = controller.threshold
        assert lowered < start
        for _ in range(40):
            controller.outcome(abandoned=False)
        assert controller.threshold > lowered

    def test_settles_where_abandons_match_the_aim(self) -> None:
        controller = AbandonController(aim=0.03, memory=500)
        rng = Random(5)
        for _ in range(20_000):  # abandon probability grows with the threshold: 0.03 at 0.1
            controller.outcome(abandoned=rng.random() < 0.3 * controller.threshold)
        assert controller.threshold == pytest.approx(0.1, rel=0.3)
