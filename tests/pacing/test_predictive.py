"""PredictivePacer.decide: floor, cold start, forecast, budget braking, limits, restore."""

from __future__ import annotations

import math

import pytest

from olive.pacing import (
    CallAbandoned,
    CallConnected,
    ComplianceProfile,
    DialPlaced,
    DialResolved,
    PacerConfig,
    PacingSnapshot,
    PredictivePacer,
    RestoredLiveAnswer,
)
from olive.pacing._predictive import AbandonClusters

from .helpers import NOW, snapshot, teach

# A team of 20, all busy: five finishing their wrap-up, the rest talking.
TALKING = [20.0] * 12 + [200.0] * 3
WRAPPING_UP = [12.0] * 5


def team(**kwargs: object) -> PacingSnapshot:
    return snapshot(talking=TALKING, wrapup=WRAPPING_UP, **kwargs)  # type: ignore[arg-type]


def warm_pacer(config: PacerConfig | None = None, **history: float) -> PredictivePacer:
    pacer = PredictivePacer(config)
    teach(pacer, **history)  # type: ignore[arg-type]
    assert pacer.warm
    return pacer


class TestColdStart:
    def test_dials_progressively_until_it_has_data(self) -> None:
        pacer = PredictivePacer()
        assert not pacer.warm
        decision = pacer.decide(snapshot(idle=3, talking=TALKING, dialing=[2.0]))
        assert decision.dials == 2
        assert "cold start" in decision.reason

    def test_a_few_observations_are_not_enough(self) -> None:
        pacer = PredictivePacer()
        teach(pacer, dials=50, handles=10)
        assert not pacer.warm
        assert pacer.decide(team()).dials == 0


class TestForecast:
    def test_dials_ahead_of_agents_about_to_be_free(self) -> None:
        pacer = warm_pacer()
        decision = pacer.decide(team())
        assert decision.dials > 0  # no idle agent, yet calls go out for those finishing
        assert "predictive" in decision.reason
        assert decision.estimates["expected_free_agents"] > 0

    def test_never_below_the_progressive_floor(self) -> None:
        pacer = warm_pacer()
        assert pacer.decide(snapshot(idle=6, talking=[1.0] * 14, dialing=[1.0] * 2)).dials >= 4

    def test_more_ringing_calls_mean_fewer_new_ones(self) -> None:
        pacer = warm_pacer()
        quiet = pacer.decide(team()).dials
        busy = pacer.decide(team(dialing=[3.0] * 8)).dials
        assert busy < quiet

    def test_calls_near_their_end_matter_more_than_fresh_ones(self) -> None:
        pacer = warm_pacer()
        ending = pacer.decide(snapshot(talking=[300.0] * 10, wrapup=[12.0] * 10)).dials
        fresh = pacer.decide(snapshot(talking=[5.0] * 10, wrapup=[1.0] * 10)).dials
        assert ending > fresh

    def test_calls_ringing_long_count_less(self) -> None:
        pacer = warm_pacer()
        fresh = pacer.decide(team(dialing=[1.0] * 10)).dials
        stale = pacer.decide(team(dialing=[23.0] * 10)).dials
        assert stale > fresh

    def test_lower_answer_rate_means_more_dials(self) -> None:
        low = warm_pacer(answer_rate=0.15, dials=1500).decide(team()).dials
        high = warm_pacer(answer_rate=0.6).decide(team()).dials
        assert low > high


class TestAbandonBudget:
    def test_an_exhausted_budget_stops_dialing_ahead(self) -> None:
        pacer = warm_pacer(abandon_every=10)  # 10 % of live answers abandoned
        assert pacer.room(NOW) < 0
        decision = pacer.decide(team())
        assert "budget spent" in decision.reason
        assert decision.dials < warm_pacer().decide(team()).dials

    def test_the_floor_holds_while_paying_back(self) -> None:
        pacer = warm_pacer(abandon_every=10)
        assert pacer.decide(team(idle=5)).dials >= 5

    def test_a_bad_hour_is_paid_back_not_forgotten(self) -> None:
        config = PacerConfig(compliance_profile=ComplianceProfile.UK_OFCOM)
        pacer = warm_pacer(config, abandon_every=10)
        later = NOW + 2 * 3600  # the bad hour is out of the 1 h report window, not the 24 h one
        assert pacer.ledger.window(3600.0, later).abandons == 0
        reason = pacer.decide(team(now=later)).reason
        assert "budget spent (last 24 h:" in reason or "budget spent (campaign to date:" in reason

    def test_a_busy_bad_hour_is_braked_even_when_the_campaign_is_fine(self) -> None:
        pacer = warm_pacer()
        for i in range(20_000):  # a long clean campaign, long ago
            pacer.observe(RestoredLiveAnswer(NOW - 86_400 * 5 + i, abandoned=False))
        for i in range(400):  # the last hour: 400 live answers, 4 % abandoned
            pacer.observe(RestoredLiveAnswer(NOW - 3000 + i, abandoned=i % 25 == 0))
        assert pacer.ledger.campaign().rate < 0.01
        assert "abandon budget spent (last hour: 16 of 400 live answers" in pacer.decide(team()).reason
        unguarded = warm_pacer(PacerConfig(hour_guard=False))
        for i in range(20_000):
            unguarded.observe(RestoredLiveAnswer(NOW - 86_400 * 5 + i, abandoned=False))
        for i in range(400):
            unguarded.observe(RestoredLiveAnswer(NOW - 3000 + i, abandoned=i % 25 == 0))
        assert "budget spent" not in unguarded.decide(team()).reason

    def test_the_hour_is_steered_further_under_the_target_when_it_holds_fewer_answers(self) -> None:
        def hour_aim(live_answers: int) -> float:
            pacer = PredictivePacer()
            pacer.observe(RestoredLiveAnswer(NOW - 86_400 * 5, abandoned=False))
            for i in range(live_answers):
                pacer.observe(RestoredLiveAnswer(NOW - 3000 + 3000 * i / live_answers, abandoned=False))
            (hour, aim, _), *_ = [g for g in pacer.guarded(NOW) if g.stats.window_s == 3600.0]
            assert hour.live_answers == live_answers
            return aim

        assert hour_aim(440) < hour_aim(2400) < PacerConfig().aim
        assert hour_aim(440) == pytest.approx((13.2 - 1.5 * 13.2**0.5) / 440)

    def test_a_quiet_hour_is_not_guarded(self) -> None:
        pacer = warm_pacer()
        for i in range(20_000):
            pacer.observe(RestoredLiveAnswer(NOW - 86_400 * 5 + i, abandoned=False))
        for i in range(100):  # a small team's hour: 100 live answers, 4 abandoned
            pacer.observe(RestoredLiveAnswer(NOW - 3000 + 10 * i, abandoned=i % 25 == 0))
        assert "budget spent" not in pacer.decide(team()).reason

    def test_restore_from_history(self) -> None:
        pacer = warm_pacer()
        assert pacer.room(NOW) > 0
        for i in range(200):  # yesterday's calls, replayed after a restart: 20 % abandoned
            pacer.observe(RestoredLiveAnswer(NOW - 86_000 + i, abandoned=i % 5 == 0))
        assert pacer.ledger.campaign().abandons >= 40
        assert "budget spent" in pacer.decide(team()).reason

    def test_a_live_answer_counts_once_however_it_is_replayed(self) -> None:
        pacer = PredictivePacer()
        pacer.observe(DialResolved(NOW, NOW - 10, live=True))  # teaches the estimates only
        pacer.observe(RestoredLiveAnswer(NOW + 1, abandoned=True))  # its fate, from the store
        assert (pacer.ledger.campaign().live_answers, pacer.ledger.campaign().abandons) == (1, 1)
        pacer.observe(CallConnected(NOW + 5, 0.0))
        assert pacer.ledger.campaign().live_answers == 2

    def test_progressive_and_power_ignore_restored_history(self) -> None:
        from olive.pacing import make_pacer

        for mode in ("progressive", "power"):
            pacer = make_pacer(mode)
            pacer.observe(RestoredLiveAnswer(NOW, abandoned=True))
            assert pacer.decide(snapshot(idle=2)).dials >= 2

    def test_abandons_lower_the_risk_threshold(self) -> None:
        pacer = warm_pacer()
        before = pacer.estimates()["risk_threshold"]
        pacer.decide(team())  # dialing on the forecast from now on
        for i in range(3):
            t = NOW + 10 * i
            pacer.observe(DialResolved(t, t - 10, live=True))
            pacer.observe(CallAbandoned(t + 2, 2.0))
        assert pacer.estimates()["risk_threshold"] < before


class TestLimits:
    def test_max_concurrent(self) -> None:
        pacer = warm_pacer(PacerConfig(max_concurrent=22))
        assert pacer.decide(snapshot(idle=5, talking=TALKING)).dials == 7

    def test_calls_per_second(self) -> None:
        pacer = warm_pacer(PacerConfig(max_calls_per_second=2))
        assert pacer.decide(team(idle=10)).dials == 2
        pacer.observe(DialPlaced(NOW))
        assert pacer.decide(team(idle=10)).dials == 1


class TestDrift:
    def test_follows_a_halved_answer_rate(self) -> None:
        pacer = warm_pacer(dials=3000, answer_rate=0.3)
        assert pacer.estimates()["answer_rate"] == pytest.approx(0.3, abs=0.04)
        teach(pacer, dials=800, answer_rate=0.15, start=NOW, seed=8)
        assert pacer.estimates()["answer_rate"] == pytest.approx(0.15, abs=0.04)

    def test_follows_longer_talk_times(self) -> None:
        pacer = warm_pacer()
        assert pacer.estimates()["talk_mean_s"] == pytest.approx(120, rel=0.25)
        teach(pacer, dials=0, handles=1000, talk_s=240.0, start=NOW)
        assert pacer.estimates()["talk_mean_s"] == pytest.approx(240, rel=0.25)

    def test_a_smaller_team_gets_fewer_calls(self) -> None:
        pacer = warm_pacer()
        assert pacer.decide(snapshot(talking=TALKING[:8], wrapup=WRAPPING_UP[:2])).dials < pacer.decide(team()).dials


class TestEstimates:
    def test_reports_what_it_learned(self) -> None:
        pacer = warm_pacer()
        pacer.decide(team())
        estimates = pacer.estimates()
        for key in ("answer_rate", "answer_delay_mean_s", "non_answer_mean_s", "talk_mean_s", "wrapup_mean_s",
                    "risk_threshold", "abandon_rate", "abandon_rate_3600s", "expected_free_agents"):  # fmt: skip
            assert key in estimates
        assert estimates["answer_delay_mean_s"] == pytest.approx(12, rel=0.15)
        assert estimates["non_answer_mean_s"] == pytest.approx(19.75, rel=0.15)


class TestRingingLongerThanEverSeen:
    """Issue 11: a dial timeout raised mid-campaign rings calls past every answer time learned."""

    def test_a_call_ringing_past_every_time_seen_is_forecast(self) -> None:
        pacer = warm_pacer()  # it has seen calls resolve within 25 s at most
        ringing = [a + 0.5 for a in range(20, 90)]  # seconds rung, up to far past the longest seen
        decision = pacer.decide(team(dialing=ringing))
        assert decision.dials >= 0
        assert "predictive" in decision.reason


class TestConfidenceAndBound:
    """Issue 11: near-progressive until the estimates are trusted; a bound on every decision."""

    def test_confidence_grows_with_what_was_learned(self) -> None:
        little, more = PredictivePacer(), PredictivePacer()
        teach(little, dials=400, handles=40)
        teach(more, dials=3000, handles=400)
        little.decide(team())
        more.decide(team())
        assert 0.0 < little.confidence < 0.5
        assert more.confidence == 1.0

    def test_a_big_team_needs_more_evidence(self) -> None:
        pacer = PredictivePacer()
        teach(pacer, dials=3000, handles=400)
        pacer.decide(team())
        assert pacer.confidence == 1.0
        pacer.decide(snapshot(idle=10, talking=[30.0] * 990))
        assert pacer.confidence < 0.5  # 1,000 agents: 5,000 live answers and ended calls for full trust

    def test_a_small_team_needs_less_evidence(self) -> None:
        pacer = PredictivePacer()
        # 15 per agent below 20 agents, 300 from 20 to 60, 5 per agent beyond.
        assert [pacer.evidence_needed(n) for n in (3, 5, 20, 40, 200, 1000)] == [45, 75, 300, 300, 1000, 5000]
        teach(pacer, dials=800, handles=80)  # about 240 live answers, 80 calls ended
        pacer.decide(snapshot(idle=1, talking=[30.0] * 4))
        assert pacer.confidence == 1.0
        pacer.decide(team())
        assert pacer.confidence < 0.5

    def test_a_young_pacer_places_fewer_calls_than_a_seasoned_one(self) -> None:
        young, seasoned = PredictivePacer(), PredictivePacer()
        teach(young, dials=400, handles=40)
        teach(seasoned, dials=3000, handles=400)
        assert young.warm and seasoned.warm
        assert young.decide(team()).dials < seasoned.decide(team()).dials

    @pytest.mark.parametrize("idle", [0, 50, 1000])
    def test_no_decision_places_more_than_the_bound(self, idle: int) -> None:
        # A mass login: many idle agents at once, next to a busy team.
        pacer = warm_pacer(dials=3000, handles=400)
        snap = snapshot(idle=idle, talking=[float(e) for e in range(0, 400, 2)], dialing=[3.0] * 20)
        decision = pacer.decide(snap)
        assert pacer._forecast is not None
        floor = max(0, idle - 20)
        bound = pacer.bound(pacer._forecast, floor)
        assert floor <= decision.dials <= bound
        fc = pacer._forecast
        spare = fc.free_mean[-1] - fc.demand_mean[-1]
        assert bound <= floor + math.ceil(spare / fc.answer_rate) + 1  # one live answer per spare agent
        assert f"at most {bound} calls" in decision.reason


class TestAbandonClusters:
    def test_lone_abandons_have_dispersion_one_and_bursts_more(self) -> None:
        clusters = AbandonClusters()
        for i in range(50):
            clusters.abandoned(NOW + 60.0 * i)
        assert clusters.dispersion == pytest.approx(1.0)
        for i in range(20):  # overflows dropping five calls within a second
            for k in range(5):
                clusters.abandoned(NOW + 10_000.0 + 60.0 * i + 0.2 * k)
        assert clusters.dispersion > 3.0

    def test_a_bursty_campaign_keeps_a_bigger_reserve(self) -> None:
        calm, bursty = warm_pacer(), warm_pacer()
        for i in range(1000):
            t = NOW - 3000 + i
            calm.observe(RestoredLiveAnswer(t, abandoned=i % 100 == 0))
            bursty.observe(RestoredLiveAnswer(t, abandoned=i % 400 < 5 and i >= 400))
        assert calm.ledger.campaign().abandons == bursty.ledger.campaign().abandons == 10
        assert bursty.room(NOW) < calm.room(NOW)


def _crew(agents: int) -> PacingSnapshot:
    """A team of ``agents``, all busy: a quarter in wrap-up, the rest talking."""
    wrapping = agents // 4
    return snapshot(talking=[30.0] * (agents - wrapping), wrapup=[5.0] * wrapping)


class TestTeamSizedClusters:
    def test_the_cluster_assumed_before_any_is_seen_grows_with_the_team(self) -> None:
        clusters = AbandonClusters()
        assert clusters.dispersion_for(5) == clusters.dispersion == 1.0
        assert clusters.dispersion_for(50) == pytest.approx(2.5)
        assert clusters.dispersion_for(200) == pytest.approx(5.0)
        for i in range(200):  # lone abandons seen: the prior fades
            clusters.abandoned(NOW + 60.0 * i)
        assert clusters.dispersion_for(200) < 1.3  # (3 x 25 + 200) / (3 x 5 + 200)

    def test_a_big_teams_early_overflow_finds_the_budget_spent(self) -> None:
        # s-ring-longer-a50, seed 2, minute 10: 3 lone abandons in 212 live answers, then an
        # overflow dropped 4 calls (7 of 231: 3.03 %) while the pacer still dialed ahead.
        def reason(agents: int) -> str:
            pacer = warm_pacer()
            for i in range(212 - int(pacer.ledger.campaign().live_answers)):
                pacer.observe(RestoredLiveAnswer(NOW - 600 + i, abandoned=i in (0, 6, 12)))  # lone: over 5 s apart
            assert (pacer.ledger.campaign().live_answers, pacer.ledger.campaign().abandons) == (212, 3)
            pacer.decide(_crew(agents))  # the pacer learns the team's size
            return pacer.decide(_crew(agents)).reason

        assert "budget spent (campaign to date: 3 of 212" in reason(50)
        assert "budget spent" not in reason(5)


def _campaign_guard(pacer: PredictivePacer) -> tuple[float, float]:
    """The campaign-to-date guard's (aim, reserve)."""
    (_, aim, reserve), *_ = pacer.guarded(NOW)
    return aim, reserve


class TestLongWindowMargin:
    @staticmethod
    def after(live_answers: int, abandons: int, agents: int = 5) -> PredictivePacer:
        """A campaign of ``agents`` with 100 live answers an hour so far."""
        pacer = PredictivePacer()
        every = live_answers // abandons
        span = 36.0 * live_answers  # 100 live answers an hour
        for i in range(live_answers):
            pacer.observe(RestoredLiveAnswer(NOW - span + span * i / live_answers, abandoned=i % every == 5))
        teach(pacer, start=NOW - 3000.0, dials=0)  # a mean handle time of about 135 s
        pacer.decide(_crew(agents))
        return pacer

    def test_a_small_teams_long_campaign_keeps_the_margin_of_a_few_hours(self) -> None:
        pacer = self.after(2000, 52)  # 20 hours of a 5-agent team, 2.6 % to date: 60 allowed
        aim, reserve = _campaign_guard(pacer)
        # the whole count's spread would steer it to (60 - 1.5 sqrt(60)) / 2000 = 2.42 %, reserve 7.7;
        # four hours of what 5 agents can take (about 4 x 133 live answers): about 2.7 %, reserve 4
        assert 0.0265 < aim < 0.0275
        assert 3.7 < reserve < 4.3
        assert "budget spent" not in pacer.decide(_crew(5)).reason

    def test_the_first_hours_keep_the_whole_counts_margin(self) -> None:
        aim, reserve = _campaign_guard(self.after(400, 4))
        assert aim == pytest.approx((12.0 - 1.5 * math.sqrt(12.0)) / 400)
        assert reserve == pytest.approx(math.sqrt(12.0))

    def test_a_big_team_keeps_the_margin_of_what_its_next_hours_can_bring(self) -> None:
        small, big = self.after(2000, 52), self.after(2000, 52, agents=300)  # 300 take ~8,000 an hour
        whole_count_spread = math.sqrt(60.0 * big.clusters.dispersion_for(300))
        assert _campaign_guard(big)[1] == pytest.approx(whole_count_spread)
        assert _campaign_guard(big)[0] < _campaign_guard(small)[0]


class TestUnseenRiseReserve:
    """The calls in flight of a low answer rate campaign, if the rate rises before it can be seen.

    s-rate-jump-a100, seed 1: 37 abandons in 1,896 live answers (1.95 %) when the answer rate
    quadrupled (0.10 to 0.40); the ~120 calls placed in the 16 s before the rise could be told
    from chance brought 23 abandons, 60 of 1,949 (3.08 %) to date.
    """

    @staticmethod
    def before_the_jump(config: PacerConfig | None = None) -> tuple[PredictivePacer, PacingSnapshot]:
        pacer = warm_pacer(config, answer_rate=0.1, dials=2000)
        campaign = pacer.ledger.campaign()
        more, abandons = 1896 - int(campaign.live_answers), 37 - int(campaign.abandons)
        for i in range(more):  # lone abandons, evenly spread
            pacer.observe(RestoredLiveAnswer(NOW - 2700 + i, abandoned=i < abandons * (more // abandons) and i % (more // abandons) == 3))
        assert (pacer.ledger.campaign().live_answers, pacer.ledger.campaign().abandons) == (1896, 37)
        busy = _crew(100)
        ringing = snapshot(talking=[30.0] * 75, wrapup=[5.0] * 25, dialing=[i * 0.2 for i in range(125)])
        assert len(busy.agents) == len(ringing.agents)
        return pacer, ringing

    def test_the_live_answers_on_the_way_are_kept_in_reserve(self) -> None:
        pacer, now = self.before_the_jump()
        pacer.decide(now)
        shock = pacer.estimates()["rise_reserve"]
        assert 5.0 < shock < 12.5  # under a tenth of 125 calls: those rung longer answer less often
        plain, _ = self.before_the_jump(PacerConfig(shock_factor=0.0))
        plain.decide(now)
        (_, aim, reserve), *_ = pacer.guarded(NOW)
        (_, plain_aim, plain_reserve), *_ = plain.guarded(NOW)
        assert reserve == pytest.approx(plain_reserve + shock)
        assert aim == pytest.approx(plain_aim - shock / 1896)

    def test_a_campaign_near_its_margin_stops_dialing_ahead_before_the_rise(self) -> None:
        # Without the reserve the pacer dialed ahead at 1.95 % with ~120 calls ringing.
        pacer, now = self.before_the_jump()
        plain, _ = self.before_the_jump(PacerConfig(shock_factor=0.0))
        assert "budget spent" in pacer.decide(now).reason
        assert "budget spent" not in plain.decide(now).reason
