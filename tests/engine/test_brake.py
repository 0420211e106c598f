from olive import pacing
from olive.engine._brake import AbandonBrake
from olive.engine._runner import pacer_config

PLAN = {"channel_template": "PJSIP/{number}@t", "lines_per_agent": 3}


def snapshot() -> pacing.PacingSnapshot:
    return pacing.PacingSnapshot(now=1e9, agents=(pacing.AgentSnapshot(pacing.AgentActivity.IDLE, 1e9 - 5),), dialing=())


def test_power_is_held_to_the_floor_without_abandon_room() -> None:
    brake = AbandonBrake(pacer_config(PLAN, "us-tsr"), "power")
    assert brake.apply(snapshot(), pacing.DialDecision(3, "power")).dials == 1


def test_predictive_manages_its_own_budget() -> None:
    # The predictive pacer guards the same windows and pays back more cheaply; no second brake.
    brake = AbandonBrake(pacer_config(PLAN, "us-tsr"), "predictive")
    assert brake.apply(snapshot(), pacing.DialDecision(3, "predictive")).dials == 3
