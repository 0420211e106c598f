"""Exports for a regulator: attempts, abandon windows, DNC checks and lists."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from olive.compliance import EXPORTS, ComplianceGuard, export_rows, write_csv
from olive.compliance._records import abandon_rows
from olive.store import DncRepository, from_epoch

from .conftest import NOON_NY, NY_NUMBER, Builder

DAY = 86400.0


def as_csv(kind: str, session: Session, now: float, **kw: object) -> list[dict[str, str]]:
    out = io.StringIO()
    write_csv(out, EXPORTS[kind], export_rows(kind, session, now, **kw))  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(out.getvalue())))


class TestAttempts:
    def test_every_attempt_with_wait_message_and_dnc_check(self, session: Session, build: Builder) -> None:
        campaign = build.campaign(drop_action="message", drop_message="olive/safe-harbour")
        contact = build.contact(campaign)
        guard = ComplianceGuard()
        assert guard.check(session, campaign, contact, contact.numbers[0], NOON_NY - 100).allowed
        call = build.call(
            campaign,
            contact,
            originated_at=from_epoch(NOON_NY - 100),
            answered_at=from_epoch(NOON_NY - 90),
            ended_at=from_epoch(NOON_NY - 88),
            outcome="ABANDONED",
            abandon_reason="timeout",
            customer_wait_s=2.0,
            drop_message_played=True,
            plan_snapshot=campaign.plan.snapshot(),
        )
        guard.dialed(session, campaign, contact, call.id, NOON_NY - 100)
        rows = as_csv("attempts", session, NOON_NY, campaign_id=campaign.id)
        assert len(rows) == 1
        row = rows[0]
        assert row["call_id"] == call.id and row["outcome"] == "ABANDONED"
        assert (row["abandon_reason"], row["customer_wait_s"], row["connect_limit_s"]) == ("timeout", "2.0", "2.0")
        assert (row["drop_message"], row["drop_message_played"]) == ("olive/safe-harbour", "true")
        assert row["dnc_check"] == "clear" and row["dnc_checked_at"].endswith("Z")
        assert row["originated_at"] == "2026-01-15T16:58:20.000Z"
        assert row["compliance_profile"] == "us-tsr"

    def test_time_range(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        contact = build.contact(campaign)
        build.call(campaign, contact, originated_at=from_epoch(NOON_NY - DAY))
        build.call(campaign, None, originated_at=from_epoch(NOON_NY))
        assert len(as_csv("attempts", session, NOON_NY, since=NOON_NY - 10)) == 1
        assert len(as_csv("attempts", session, NOON_NY, until=NOON_NY - 10)) == 1


class TestAbandonWindows:
    def test_each_window(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        campaign.started_at = from_epoch(NOON_NY - 40 * DAY)
        for days_ago, outcome, played in [(35, "ABANDONED", True), (35, "CONNECTED", None), (2, "CONNECTED", None), (0.5, "ABANDONED", False)]:
            build.call(campaign, None, outcome=outcome, ended_at=from_epoch(NOON_NY - days_ago * DAY), drop_message_played=played)
        rows = {(r["window"], r["from"]): r for r in abandon_rows(session, NOON_NY, campaign.id)}
        to_date = next(r for (w, _), r in rows.items() if w == "campaign_to_date")
        assert (to_date["live_answers"], to_date["abandoned"], to_date["abandoned_with_message"]) == (4, 2, 1)
        periods = [r for (w, _), r in sorted(rows.items(), key=lambda kv: kv[1]["from"]) if w == "period_30d"]
        assert [(p["live_answers"], p["abandoned"]) for p in periods] == [(2, 1), (2, 1)]
        assert periods[0]["within_limit"] is False
        days = [r for (w, _), r in rows.items() if w == "period_24h"]
        assert len(days) == 40 and sum(d["abandoned"] for d in days) == 2
        rolling = {w: r for (w, _), r in rows.items() if w.startswith("rolling")}
        assert (rolling["rolling_24h"]["live_answers"], rolling["rolling_24h"]["abandoned"]) == (1, 1)
        assert (rolling["rolling_30d"]["live_answers"], rolling["rolling_30d"]["rate"]) == (2, 0.5)

    def test_amd_false_positives_count_as_abandoned_by_the_plans_estimate(self, session: Session, build: Builder) -> None:
        # 97 people connected, 100 MACHINE verdicts of which the plan estimates 2% were people.
        campaign = build.campaign(amd="hangup", amd_false_positive_share=0.02)
        snapshot = campaign.plan.snapshot()
        for i in range(97):
            build.call(campaign, None, outcome="CONNECTED", ended_at=from_epoch(NOON_NY - 100 - i), plan_snapshot=snapshot)
        for i in range(100):
            build.call(campaign, None, outcome="MACHINE", ended_at=from_epoch(NOON_NY - 300 - i), plan_snapshot=snapshot,
                       amd_status="MACHINE", amd_cause="LONGGREETING-1500-1500")
        row = next(r for r in abandon_rows(session, NOON_NY, campaign.id) if r["window"] == "campaign_to_date")
        assert (row["live_answers"], row["abandoned"], row["rate"]) == (97, 0, 0.0)  # machines are not live answers
        assert (row["amd_machines"], row["amd_false_positives_estimated"]) == (100, 2.0)
        assert row["rate_with_amd_estimate"] == round(2 / 99, 6)
        assert row["within_limit"] is True
        build.call(campaign, None, outcome="ABANDONED", ended_at=from_epoch(NOON_NY - 50), plan_snapshot=snapshot)
        row = next(r for r in abandon_rows(session, NOON_NY, campaign.id) if r["window"] == "campaign_to_date")
        assert row["rate"] == round(1 / 98, 6) and row["rate_with_amd_estimate"] == round(3 / 100, 6)
        attempt = next(r for r in as_csv("attempts", session, NOON_NY, campaign_id=campaign.id) if r["outcome"] == "MACHINE")
        assert (attempt["amd"], attempt["amd_status"], attempt["amd_cause"]) == ("hangup", "MACHINE", "LONGGREETING-1500-1500")

    def test_no_calls_yet(self, session: Session, build: Builder) -> None:
        build.campaign()
        rows = as_csv("abandons", session, NOON_NY)
        assert [(r["window"], r["live_answers"]) for r in rows] == [("campaign_to_date", "0")]

    def test_profile_none_has_no_limit(self, session: Session, build: Builder) -> None:
        build.campaign(profile="none")
        row = as_csv("abandons", session, NOON_NY)[0]
        assert (row["limit"], row["within_limit"]) == ("", "")


class TestDnc:
    def test_checks_and_lists(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        repo = DncRepository(session)
        repo.add_number(NY_NUMBER, campaign_id=campaign.id, source="csv")
        repo.check(NY_NUMBER, campaign_id=campaign.id, now=NOON_NY)
        repo.check("+12125550199", campaign_id=campaign.id, now=NOON_NY + 1)
        checks = as_csv("dnc-checks", session, NOON_NY)
        assert [(c["number"], c["result"], c["matched_list"]) for c in checks] == [
            (NY_NUMBER, "blocked", f"campaign {campaign.name}"),
            ("+12125550199", "clear", ""),
        ]
        lists = as_csv("dnc", session, NOON_NY)
        assert [(r["number"], r["list"], r["source"]) for r in lists] == [(NY_NUMBER, f"campaign {campaign.name}", "csv")]
