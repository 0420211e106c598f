"""The engine's part: the abandon cap on every dial mode, due callbacks first, precise status notes."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from olive import pacing
from olive.compliance import AllowAll, ComplianceGuard, Verdict, schedule_callback
from olive.engine import CampaignRunner, Engine
from olive.engine._brake import AbandonBrake
from olive.engine._due import contacts_to_dial, dial_note, refusal_summary
from olive.engine._runner import pacer_config
from olive.store import from_epoch

from .conftest import NOON_NY, Builder

DAY = 86400.0
POWER = {"dial_mode": "power", "lines_per_agent": 3.0, "abandon_target": 0.03, "max_concurrent": 50}


def snapshot(now: float, idle: int = 1) -> pacing.PacingSnapshot:
    agents = tuple(pacing.AgentSnapshot(pacing.AgentActivity.IDLE, now - 10) for _ in range(idle))
    return pacing.PacingSnapshot(now=now, agents=agents, dialing=())


def brake(profile: str, history: list[tuple[float, bool]] = ()) -> AbandonBrake:  # type: ignore[assignment]
    b = AbandonBrake(pacer_config(POWER, profile))
    for at, abandoned in history:
        b.record(at, abandoned)
    return b


class TestDefaultGuard:
    def test_the_engine_is_compliant_by_default(self, session_factory: sessionmaker[Session]) -> None:
        assert isinstance(Engine(session_factory, {}).guard, ComplianceGuard)
        assert isinstance(Engine(session_factory, {}, guard=AllowAll()).guard, AllowAll)


class TestAbandonBrake:
    def test_no_dialing_ahead_until_there_is_room_for_an_abandon(self) -> None:
        decision = brake("us-tsr").apply(snapshot(NOON_NY), pacing.DialDecision(3, "power"))
        assert decision.dials == 1 and decision.reason.startswith("abandon cap:")

    def test_room_lets_power_dial(self) -> None:
        history = [(NOON_NY - 3600 + i, False) for i in range(40)]
        assert brake("us-tsr", history).apply(snapshot(NOON_NY), pacing.DialDecision(3, "power")).dials == 3

    def test_a_rate_at_the_cap_brakes(self) -> None:
        history = [(NOON_NY - 3600 + i, i == 0) for i in range(34)]  # 1/34: 0.02 of room left
        assert brake("us-tsr", history).apply(snapshot(NOON_NY), pacing.DialDecision(3, "power")).dials == 1

    def test_the_us_window_is_30_days(self) -> None:
        # A bad month long ago still counts to date; 40 clean answers this month do not pay it back.
        old = [(NOON_NY - 40 * DAY + i, i < 5) for i in range(50)]
        recent = [(NOON_NY - DAY + i, False) for i in range(40)]
        assert brake("us-tsr", old + recent).apply(snapshot(NOON_NY), pacing.DialDecision(3, "p")).dials == 1
        assert brake("us-tsr", recent).apply(snapshot(NOON_NY), pacing.DialDecision(3, "p")).dials == 3

    def test_the_uk_window_is_24_hours(self) -> None:
        # Plenty of room to date, but the last 24 hours are over the cap.
        clean = [(NOON_NY - 5 * DAY + i, False) for i in range(1000)]
        bad_day = [(NOON_NY - 3600 + i, i < 2) for i in range(20)]
        assert brake("us-tsr", clean + bad_day).apply(snapshot(NOON_NY), pacing.DialDecision(3, "p")).dials == 3
        assert brake("uk-ofcom", clean + bad_day).apply(snapshot(NOON_NY), pacing.DialDecision(3, "p")).dials == 1

    def test_profile_none_is_not_capped(self) -> None:
        assert brake("none").apply(snapshot(NOON_NY), pacing.DialDecision(3, "power")).dials == 3

    def test_never_below_the_progressive_floor(self) -> None:
        assert brake("us-tsr").apply(snapshot(NOON_NY, idle=2), pacing.DialDecision(6, "power")).dials == 2

    def test_the_runner_applies_it_and_restores_it(self) -> None:
        runner = CampaignRunner("camp_x", POWER, "us-tsr")
        assert runner.decide(snapshot(NOON_NY)).dials == 1
        runner.restore([(NOON_NY - 3600 + i, False) for i in range(40)])
        assert runner.decide(snapshot(NOON_NY)).dials == 3
        runner.update_plan(dict(POWER, lines_per_agent=2.0), "us-tsr")  # rebuilt: keeps its history
        assert runner.decide(snapshot(NOON_NY)).dials == 2


class TestDueOrder:
    def test_due_callbacks_go_first(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        never_tried = [build.contact(campaign) for _ in range(3)]
        called_back = build.contact(campaign, status="done", next_attempt_at=from_epoch(NOON_NY - 5 * DAY))
        schedule_callback(session, called_back.id, campaign.id, NOON_NY - 60)
        later = build.contact(campaign)
        schedule_callback(session, later.id, campaign.id, NOON_NY + 600)  # not due yet
        order = [c.id for c in contacts_to_dial(session, campaign.id, NOON_NY, 10)]
        assert order[0] == called_back.id
        assert set(order[1:]) == {c.id for c in never_tried}
        assert len(contacts_to_dial(session, campaign.id, NOON_NY, 2)) == 2

    def test_a_callback_put_off_by_the_guard_waits(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        schedule_callback(session, contact.id, campaign.id, NOON_NY - 60)
        contact.next_attempt_at = from_epoch(NOON_NY + 3600)  # e.g. outside hours until then
        session.flush()
        assert contacts_to_dial(session, campaign.id, NOON_NY, 10) == []


class TestStatusNote:
    def test_refusals_by_reason(self) -> None:
        refused = [
            Verdict(False, "outside_hours: it is 21:30", retry_at=NOON_NY + 100),
            Verdict(False, "outside_hours: it is 22:30", retry_at=NOON_NY + 50),
            Verdict(False, "dnc: +1 on the global list", status="dnc"),
        ]
        assert refusal_summary(refused) == "outside_hours x2 (first clears 2026-01-15T17:00:50Z), dnc x1"

    def test_notes(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        refused = [Verdict(False, "outside_hours: x", retry_at=NOON_NY + 60)]
        assert dial_note(session, campaign.id, "1 idle agent", 0, True, refused) == (
            "no call placed: 1 due contact(s) held back: outside_hours x1 (first clears 2026-01-15T17:01:00Z)"
        )
        assert dial_note(session, campaign.id, "1 idle agent", 1, True, []) == "1 idle agent"
        assert dial_note(session, campaign.id, "2 idle", 1, True, refused).startswith("2 idle; 1 due contact(s) held back")
        assert dial_note(session, campaign.id, "x", 0, False, []) == "no contact is due now, and none is waiting for a retry"
        build.contact(campaign, next_attempt_at=from_epoch(NOON_NY + 600))
        assert dial_note(session, campaign.id, "x", 0, False, []) == "no contact is due now; the next is due at 2026-01-15T17:10:00Z"
