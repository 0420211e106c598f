"""What each compliance profile forbids in a campaign's settings, and what it only warns about.

Pure. :func:`campaign_problems` is checked when a campaign file is loaded,
when a campaign starts and by the dial guard before every Originate, so a
plan or schedule changed while the campaign runs is caught too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olive.compliance._schedule import Schedule, ScheduleError, minutes_text, parse_schedule
from olive.specs import check_plan_for_profile

#: The latest window a regulated campaign may use: 08:00 to 21:00 at the called person's location
#: (US TSR 16 CFR 310.4(c) and FCC 47 CFR 64.1200(c)(1); olive applies the same to uk-ofcom).
LEGAL_START = 8 * 60
LEGAL_END = 21 * 60
REGULATED = frozenset({"us-tsr", "uk-ofcom"})


def check_schedule_for_profile(schedule: Schedule, profile: str) -> list[str]:
    if profile not in REGULATED:
        return []
    problems = []
    for window in sorted(set(schedule.windows())):
        if window.start < LEGAL_START or window.end > LEGAL_END:
            problems.append(
                f"schedule window {window} is outside {minutes_text(LEGAL_START)}-{minutes_text(LEGAL_END)} "
                f"local, which the {profile} profile does not allow"
            )
    return problems


def campaign_problems(plan: Mapping[str, Any], schedule: Mapping[str, Any] | None, profile: str) -> list[str]:
    """Everything the profile forbids in this plan and schedule; empty when the campaign may dial."""
    problems = list(check_plan_for_profile(dict(plan), profile))
    try:
        parsed = parse_schedule(schedule)
    except ScheduleError as exc:
        return [*problems, str(exc)]
    return problems + check_schedule_for_profile(parsed, profile)


def plan_warnings(plan: Mapping[str, Any], profile: str) -> list[str]:
    """Allowed, but the operator should know."""
    warnings = []
    if profile in REGULATED and plan.get("drop_action", "hangup") != "message":
        law = "the TSR/FCC safe harbour" if profile == "us-tsr" else "Ofcom's policy"
        warnings.append(
            f"drop_action is 'hangup': an abandoned call plays no message. {law} expects a recorded "
            "message naming the caller and a number to call back; set drop_action 'message' and drop_message"
        )
    if profile == "none":
        warnings.append(
            "compliance profile 'none': no abandon cap, ring-time or connect-limit rule is enforced; "
            "calling hours still follow the campaign's schedule (08:00-21:00 local when it sets none)"
        )
    return warnings


__all__ = [
    "LEGAL_END",
    "LEGAL_START",
    "REGULATED",
    "campaign_problems",
    "check_schedule_for_profile",
    "plan_warnings",
]
