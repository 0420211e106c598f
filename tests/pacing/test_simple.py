"""Progressive and power pacing, and the plan limits every mode obeys."""

from __future__ import annotations

import pytest

from olive.pacing import DialPlaced, PacerConfig, PowerPacer, ProgressivePacer, make_pacer

from .helpers import NOW, snapshot


class TestProgressiveDecide:
    @pytest.mark.parametrize(
        ("idle", "dialing", "waiting", "expected"),
        [(0, 0, 0, 0), (3, 0, 0, 3), (3, 1, 0, 2), (3, 2, 1, 0), (2, 5, 0, 0), (4, 0, 3, 1)],
    )
    def test_one_call_per_idle_agent_without_a_call_on_the_way(
        self, idle: int, dialing: int, waiting: int, expected: int
    ) -> None:
        snap = snapshot(idle=idle, talking=[30.0] * 4, dialing=[1.0] * dialing, waiting=waiting)
        assert ProgressivePacer().decide(snap).dials == expected

    def test_busy_and_paused_agents_get_no_call(self) -> None:
        snap = snapshot(idle=0, talking=[10.0, 200.0], wrapup=[14.0], paused=3)
        assert ProgressivePacer().decide(snap).dials == 0

    def test_max_concurrent_caps(self) -> None:
        snap = snapshot(idle=10, talking=[5.0] * 3, dialing=[1.0] * 2, max_concurrent=8)
        decision = ProgressivePacer().decide(snap)
        assert decision.dials == 3  # 8 - (2 dialing + 3 talking)
        assert "max concurrent" in decision.reason

    def test_config_max_concurrent_caps_too(self) -> None:
        pacer = ProgressivePacer(PacerConfig(max_concurrent=4))
        assert pacer.decide(snapshot(idle=10)).dials == 4

    def test_calls_per_second_cap_counts_what_was_placed(self) -> None:
        pacer = ProgressivePacer(PacerConfig(max_calls_per_second=5))
        assert pacer.decide(snapshot(idle=20)).dials == 5
        for _ in range(5):
            pacer.observe(DialPlaced(NOW))
        assert pacer.decide(snapshot(idle=20, now=NOW + 0.5)).dials == 0
        assert pacer.decide(snapshot(idle=20, now=NOW + 1.0)).dials == 5

    def test_calls_per_second_under_one(self) -> None:
        pacer = ProgressivePacer(PacerConfig(max_calls_per_second=0.5))
        assert pacer.decide(snapshot(idle=3)).dials == 1
        pacer.observe(DialPlaced(NOW))
        assert pacer.decide(snapshot(idle=3, now=NOW + 1.5)).dials == 0
        assert pacer.decide(snapshot(idle=3, now=NOW + 2.0)).dials == 1


class TestPowerDecide:
    def test_lines_per_ready_agent_minus_calls_in_flight(self) -> None:
        pacer = PowerPacer(PacerConfig(lines_per_agent=2.5))
        assert pacer.decide(snapshot(idle=4, talking=[50.0] * 6)).dials == 10
        assert pacer.decide(snapshot(idle=4, dialing=[1.0] * 7, waiting=1)).dials == 2
        assert pacer.decide(snapshot(idle=1, dialing=[1.0] * 7)).dials == 0

    def test_no_ready_agent_no_call(self) -> None:
        assert PowerPacer().decide(snapshot(talking=[5.0] * 10)).dials == 0

    def test_respects_limits(self) -> None:
        pacer = PowerPacer(PacerConfig(lines_per_agent=3, max_calls_per_second=4))
        assert pacer.decide(snapshot(idle=5)).dials == 4


class TestMakePacer:
    @pytest.mark.parametrize("mode", ["progressive", "power", "predictive"])
    def test_modes(self, mode: str) -> None:
        assert make_pacer(mode).mode == mode

    def test_unknown_mode(self) -> None:
        with pytest.raises(ValueError, match="unknown dial mode 'turbo'"):
            make_pacer("turbo")


class TestPacerConfig:
    def test_profiles_choose_the_guarded_window(self) -> None:
        from olive.pacing import ComplianceProfile

        assert PacerConfig().compliance_windows_s == (30 * 86400.0,)
        uk = PacerConfig(compliance_profile=ComplianceProfile.UK_OFCOM)
        assert uk.compliance_windows_s == (86400.0,)
        assert PacerConfig(compliance_profile=ComplianceProfile.NONE).compliance_windows_s == ()
        assert 3600.0 in uk.ledger_windows_s

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"abandon_target": 0.0},
            {"abandon_target": 1.5},
            {"abandon_aim": 0.05},
            {"max_calls_per_second": 0},
            {"max_concurrent": -1},
            {"guard_windows_s": (0.0,)},
        ],
    )
    def test_rejects_nonsense(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError):
            PacerConfig(**kwargs)  # type: ignore[arg-type]
