"""The demo campaign: ten agents, a thousand contacts, the simulated PBX.

Everything here is made up and dialed only into olive's simulator: the
numbers are random valid US numbers spread over four time zones, and the
clock starts on a weekday afternoon (13:00 in New York) so that every
contact is inside its calling hours.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy.orm import Session

from olive.specs import PlanSpec
from olive.store import Agent, Campaign, ContactRow, DialList, Plan, import_contacts

# Area codes by zone, so the calling-hours rule sees several local times.
AREA_CODES = {
    "America/New_York": ("212", "617", "404", "305", "215"),
    "America/Chicago": ("312", "214", "713", "612"),
    "America/Denver": ("303", "801"),
    "America/Los_Angeles": ("415", "213", "206", "503"),
}
QUEUE = "olive-demo"
NEW_YORK = ZoneInfo("America/New_York")


def demo_numbers(count: int, seed: int) -> list[str]:
    """``count`` distinct, valid US numbers in E.164."""
    rng = random.Random(seed)
    codes = [code for zone in AREA_CODES.values() for code in zone]
    out: set[str] = set()
    while len(out) < count:
        raw = f"+1{rng.choice(codes)}{rng.randint(2, 9)}{rng.randint(0, 99):02d}{rng.randint(0, 9999):04d}"
        parsed = phonenumbers.parse(raw, None)
        if phonenumbers.is_valid_number(parsed):
            out.add(raw)
    return sorted(out, key=lambda n: rng.random())


def demo_start(now: datetime | None = None) -> float:
    """The next weekday at 13:00 New York time (10:00 in Los Angeles), as epoch seconds."""
    day = (now or datetime.now(NEW_YORK)).astimezone(NEW_YORK).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(13, 0), NEW_YORK).timestamp()


def install_demo(session: Session, *, agents: int = 10, contacts: int = 1000, mode: str = "predictive", seed: int = 1) -> str:
    """Create the demo's plan, dial list, agents and campaign; return the campaign id."""
    spec = PlanSpec.model_validate({
        "dial_mode": mode,
        "dial_timeout_s": 25,
        "caller_id": '"olive demo" <2125550100>',
        "channel_template": "PJSIP/{number}@trunk",
        "max_concurrent": 60,
        "wrapup_s": 5,
        "connect_limit_s": 2,
        "drop_action": "message",
        "drop_message": "olive/safe-harbour",
        "retry_rules": {  # short delays, so the demo finishes in minutes
            "BUSY": {"max_attempts": 2, "delay_s": 300},
            "NO_ANSWER": {"max_attempts": 2, "delay_s": 600},
            "CONGESTION": {"max_attempts": 2, "delay_s": 120},
            "FAILED": {"max_attempts": 1, "delay_s": 300},
            "ABANDONED": {"max_attempts": 2, "delay_s": 600},
            "INVALID_NUMBER": {"max_attempts": 0, "delay_s": 0},
            "CANCELLED": {"max_attempts": 1, "delay_s": 60},
        },
    })
    plan = Plan(name="demo plan", **spec.to_row())
    dial_list = DialList(name="demo list", default_region="US")
    team = [Agent(name=f"agent{100 + i}", interface=f"PJSIP/{100 + i}", state="ready") for i in range(1, agents + 1)]
    session.add_all([plan, dial_list, *team])
    session.flush()
    rows = [
        ContactRow(numbers=(number,), name=f"Demo contact {i + 1}", variables={"ACCOUNT": f"D{10000 + i}"})
        for i, number in enumerate(demo_numbers(contacts, seed))
    ]
    import_contacts(session, dial_list.id, rows)
    campaign = Campaign(
        name="demo", status="running", plan=plan, queue=QUEUE, compliance_profile="us-tsr",
        dial_lists=[dial_list], agents=team,
    )
    session.add(campaign)
    session.flush()
    return campaign.id


__all__ = ["AREA_CODES", "QUEUE", "demo_numbers", "demo_start", "install_demo"]
