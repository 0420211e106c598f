"""The records a regulator may ask for, as rows ready for CSV.

* ``attempts``: every call, its outcome and timestamps, the agent connect
  wait, the abandon reason and the message played, the disposition, and the
  DNC check made right before it was dialed;
* ``abandons``: abandoned calls and live answers counted per window: the
  campaign to date, each successive 30-day period from the campaign's start
  (how the US TSR and FCC measure), each successive 24-hour period (Ofcom)
  and the rolling 24 hours and 30 days up to now;
* ``dnc-checks``: every do-not-call check, clear or blocked;
* ``dnc``: the do-not-call lists themselves.

Times are ISO 8601 UTC. Nothing here writes to the store.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from olive.calls import Outcome
from olive.store import (
    AMD_FALSE_POSITIVE_SHARE,
    Campaign,
    ComplianceRecords,
    as_utc,
    to_epoch,
)

DAY_S = 86400.0
ABANDON_LIMIT = 0.03

ATTEMPT_COLUMNS = (
    "call_id", "campaign", "compliance_profile", "contact_id", "number", "attempt", "outcome",
    "originated_at", "answered_at", "agent_connected_at", "ended_at", "ring_s", "customer_wait_s",
    "agent", "talk_s", "dial_status", "hangup_cause", "abandon_reason", "connect_limit_s",
    "drop_action", "drop_message", "drop_message_played", "dial_timeout_s", "amd", "amd_status", "amd_cause",
    "message", "ivr_key", "disposition",
    "disposition_by", "disposition_at", "dnc_check", "dnc_checked_at",
)
ABANDON_COLUMNS = (
    "campaign", "compliance_profile", "window", "from", "to", "live_answers", "abandoned",
    "abandoned_with_message", "rate", "amd_machines", "amd_false_positives_estimated",
    "rate_with_amd_estimate", "limit", "within_limit",
)
DNC_CHECK_COLUMNS = ("checked_at", "number", "result", "matched_list", "campaign", "contact_id", "call_id")
DNC_COLUMNS = ("number", "list", "source", "note", "added_at")
EXPORTS = {"attempts": ATTEMPT_COLUMNS, "abandons": ABANDON_COLUMNS, "dnc-checks": DNC_CHECK_COLUMNS, "dnc": DNC_COLUMNS}


def _names(session: Session) -> dict[str, Campaign]:
    return ComplianceRecords(session).campaigns()


def attempt_rows(session: Session, campaign_id: str | None = None, since: float | None = None, until: float | None = None) -> Iterator[dict[str, Any]]:
    campaigns = _names(session)
    records = ComplianceRecords(session)
    checks = {c.call_id: c for c in records.dnc_checks(campaign_id, since, until, of_calls=True)}
    for call in records.attempts(campaign_id, since, until):
        plan = call.plan_snapshot or {}
        campaign = campaigns.get(call.campaign_id)
        check = checks.get(call.id)
        yield {
            "call_id": call.id,
            "campaign": campaign.name if campaign else call.campaign_id,
            "compliance_profile": campaign.compliance_profile if campaign else None,
            "contact_id": call.contact_id,
            "number": call.number,
            "attempt": call.attempt,
            "outcome": call.outcome,
            "originated_at": call.originated_at,
            "answered_at": call.answered_at,
            "agent_connected_at": call.agent_connected_at,
            "ended_at": call.ended_at,
            "ring_s": call.ring_s,
            "customer_wait_s": call.customer_wait_s,
            "agent": call.agent_interface,
            "talk_s": call.talk_s,
            "dial_status": call.dial_status,
            "hangup_cause": call.hangup_cause,
            "abandon_reason": call.abandon_reason,
            "connect_limit_s": plan.get("connect_limit_s"),
            "drop_action": plan.get("drop_action"),
            "drop_message": plan.get("drop_message") if plan.get("drop_action") == "message" else None,
            "drop_message_played": call.drop_message_played,
            "dial_timeout_s": plan.get("dial_timeout_s"),
            "amd": plan.get("amd") or "off",
            "amd_status": call.amd_status,
            "amd_cause": call.amd_cause,
            "message": plan.get("message") if plan.get("dial_mode") == "agentless" else None,
            "ivr_key": call.ivr_key,
            "disposition": call.disposition,
            "disposition_by": call.disposition_by,
            "disposition_at": call.disposition_at,
            "dnc_check": check.result if check else None,
            "dnc_checked_at": check.checked_at if check else None,
        }


def abandon_rows(session: Session, now: float, campaign_id: str | None = None) -> Iterator[dict[str, Any]]:
    campaigns = _names(session)
    for campaign in sorted(campaigns.values(), key=lambda c: c.name):
        if campaign_id is not None and campaign.id != campaign_id:
            continue
        answers: list[tuple[float, bool, bool]] = []
        machines: list[tuple[float, float]] = []  # (ended, estimated share of a person)
        for ended, outcome, played, plan in ComplianceRecords(session).answers_and_machines(campaign.id):
            at = to_epoch(as_utc(ended))
            if outcome == Outcome.MACHINE.value:
                share = (plan or {}).get("amd_false_positive_share")
                machines.append((at, AMD_FALSE_POSITIVE_SHARE if share is None else float(share)))
            else:
                answers.append((at, outcome == Outcome.ABANDONED.value, bool(played)))
        first_call = min([a[0] for a in answers[:1]] + [m[0] for m in machines[:1]], default=None)
        start = to_epoch(as_utc(campaign.started_at)) if campaign.started_at is not None else first_call
        row = _window_counter(campaign, answers, machines)
        if start is None:
            yield row("campaign_to_date", None, now)
            continue
        if first_call is not None:
            start = min(start, first_call)
        yield row("campaign_to_date", start, now)
        for name, length in (("period_30d", 30 * DAY_S), ("period_24h", DAY_S)):
            begin = start
            while begin < now:
                yield row(name, begin, min(begin + length, now))
                begin += length
        yield row("rolling_24h", now - DAY_S, now)
        yield row("rolling_30d", now - 30 * DAY_S, now)


def _window_counter(campaign: Campaign, answers: list[tuple[float, bool, bool]], machines: list[tuple[float, float]]) -> Any:
    """Counts per window. AMD's MACHINE calls are not live answers, but the people among
    them (an estimate: each call's plan's ``amd_false_positive_share``) are abandoned calls
    (Ofcom; the FTC likewise): ``rate_with_amd_estimate`` adds them to both sides, and the
    limit is judged on it."""
    def row(window: str, begin: float | None, end: float) -> dict[str, Any]:
        inside = [a for a in answers if (begin is None or a[0] >= begin) and a[0] < end + 1e-9]
        hung_up = [share for at, share in machines if (begin is None or at >= begin) and at < end + 1e-9]
        live = len(inside)
        abandoned = sum(1 for a in inside if a[1])
        rate = abandoned / live if live else 0.0
        estimate = sum(hung_up)
        with_amd = (abandoned + estimate) / (live + estimate) if live + estimate else 0.0
        return {
            "campaign": campaign.name,
            "compliance_profile": campaign.compliance_profile,
            "window": window,
            "from": None if begin is None else as_utc(begin),
            "to": as_utc(end),
            "live_answers": live,
            "abandoned": abandoned,
            "abandoned_with_message": sum(1 for a in inside if a[1] and a[2]),
            "rate": round(rate, 6),
            "amd_machines": len(hung_up),
            "amd_false_positives_estimated": round(estimate, 3),
            "rate_with_amd_estimate": round(with_amd, 6),
            "limit": None if campaign.compliance_profile == "none" else ABANDON_LIMIT,
            "within_limit": None if campaign.compliance_profile == "none" else with_amd <= ABANDON_LIMIT,
        }

    return row


def dnc_check_rows(session: Session, campaign_id: str | None = None, since: float | None = None, until: float | None = None) -> Iterator[dict[str, Any]]:
    campaigns = _names(session)
    for check in ComplianceRecords(session).dnc_checks(campaign_id, since, until):
        campaign = campaigns.get(check.campaign_id or "")
        matched = check.matched_list
        if matched and matched != "global":
            matched = f"campaign {campaigns[matched].name}" if matched in campaigns else f"campaign {matched}"
        yield {
            "checked_at": check.checked_at,
            "number": check.number,
            "result": check.result,
            "matched_list": matched,
            "campaign": campaign.name if campaign else check.campaign_id,
            "contact_id": check.contact_id,
            "call_id": check.call_id,
        }


def dnc_rows(session: Session, campaign_id: str | None = None) -> Iterator[dict[str, Any]]:
    campaigns = _names(session)
    for entry in ComplianceRecords(session).dnc_numbers(campaign_id):
        owner = campaigns.get(entry.campaign_id or "")
        yield {
            "number": entry.number,
            "list": "global" if entry.campaign_id is None else f"campaign {owner.name if owner else entry.campaign_id}",
            "source": entry.source,
            "note": entry.note,
            "added_at": entry.created_at,
        }


def export_rows(kind: str, session: Session, now: float, campaign_id: str | None = None, since: float | None = None, until: float | None = None) -> Iterator[dict[str, Any]]:
    if kind == "attempts":
        return attempt_rows(session, campaign_id, since, until)
    if kind == "abandons":
        return abandon_rows(session, now, campaign_id)
    if kind == "dnc-checks":
        return dnc_check_rows(session, campaign_id, since, until)
    if kind == "dnc":
        return dnc_rows(session, campaign_id)
    raise ValueError(f"unknown export {kind!r} (known: {', '.join(EXPORTS)})")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def write_csv(out: IO[str], columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write the rows as CSV with a header; returns how many rows."""
    names = list(columns)
    writer = csv.writer(out)
    writer.writerow(names)
    count = 0
    for row in rows:
        writer.writerow([cell(row.get(name)) for name in names])
        count += 1
    return count


__all__ = [
    "ABANDON_COLUMNS",
    "ATTEMPT_COLUMNS",
    "DNC_CHECK_COLUMNS",
    "DNC_COLUMNS",
    "EXPORTS",
    "abandon_rows",
    "attempt_rows",
    "cell",
    "dnc_check_rows",
    "dnc_rows",
    "export_rows",
    "write_csv",
]
