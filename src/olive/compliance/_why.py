"""Answers to "will this contact be dialed now?" and "why is this campaign not dialing?".

Reads the store (nothing is written, not even a DNC check) and applies the
same pure rules the dial guard applies before every Originate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from olive.compliance._eligibility import Eligibility, explain, iso
from olive.compliance._facts import campaign_schedule, contact_facts
from olive.compliance._profile import campaign_problems, plan_warnings
from olive.store import (
    Campaign,
    CampaignRepository,
    Contact,
    ContactRepository,
    NotFound,
    as_utc,
    to_epoch,
)

SAMPLE = 2000  # due contacts weighed when explaining a campaign


@dataclass(frozen=True, slots=True)
class ContactExplanation:
    contact_id: str
    campaign_id: str
    campaign: str
    eligibility: Eligibility

    def as_dict(self) -> dict[str, Any]:
        e = self.eligibility
        hours = None
        if e.hours is not None:
            hours = {
                "open": e.hours.open,
                "local_times": [
                    {"zone": z, "local_time": d.isoformat(timespec="seconds")} for z, d in zip(e.hours.zones, e.hours.local, strict=True)
                ],
                "opens_at": None if e.hours.opens_at is None else iso(e.hours.opens_at),
                "closes_at": None if e.hours.closes_at is None else iso(e.hours.closes_at),
            }
        return {
            "contact_id": self.contact_id,
            "campaign_id": self.campaign_id,
            "campaign": self.campaign,
            "dial_now": e.dial_now,
            "summary": e.summary(),
            "eligible_at": None if e.eligible_at is None else iso(e.eligible_at),
            "reasons": [r.as_dict() for r in e.reasons],
            "calling_hours": hours,
        }


def campaigns_of(session: Session, contact: Contact) -> list[Campaign]:
    return CampaignRepository(session).dialing_list(contact.dial_list_id)


def explain_contact(session: Session, contact_id: str, now: float, campaign_id: str | None = None) -> list[ContactExplanation]:
    """One explanation per campaign dialing the contact's list (or just ``campaign_id``)."""
    contact = ContactRepository(session).load(contact_id)
    if contact is None:
        raise NotFound("contact", contact_id)
    out = []
    for campaign in campaigns_of(session, contact):
        if campaign_id is not None and campaign.id != campaign_id:
            continue
        facts = contact_facts(session, campaign, contact, now)
        out.append(ContactExplanation(contact.id, campaign.id, campaign.name, explain(facts, campaign_schedule(campaign), now)))
    return out


@dataclass
class CampaignExplanation:
    campaign_id: str
    campaign: str
    status: str
    dialing: bool  # could it place a call now, as far as the store can tell
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    contacts: dict[str, int] = field(default_factory=dict)
    due_now: int = 0
    eligible_now: int = 0
    held_back: dict[str, int] = field(default_factory=dict)  # reason code -> due contacts it holds back
    next_due_at: str | None = None
    engine_note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def explain_campaign(session: Session, campaign_id: str, now: float, engine_note: str | None = None) -> CampaignExplanation:
    repo = CampaignRepository(session)
    campaign = repo.find_with_links(campaign_id)
    if campaign is None:
        raise NotFound("campaign", campaign_id)
    out = CampaignExplanation(campaign.id, campaign.name, campaign.status, dialing=False, engine_note=engine_note)
    plan = campaign.plan.snapshot()
    out.warnings = plan_warnings(plan, campaign.compliance_profile)
    if campaign.status != "running":
        out.reasons.append(f"the campaign is {campaign.status}")
    problems = campaign_problems(plan, campaign.schedule, campaign.compliance_profile)
    out.reasons.extend(f"not allowed under {campaign.compliance_profile}: {p}" for p in problems)
    if not campaign.dial_lists:
        out.reasons.append("it has no dial list")
    if not campaign.agents:
        out.reasons.append("it has no agents")
    elif not any(a.state == "ready" for a in campaign.agents):
        states = Counter(a.state for a in campaign.agents)
        out.reasons.append("no agent is ready (" + ", ".join(f"{n} {s}" for s, n in sorted(states.items())) + ")")
    out.contacts = repo.contacts_by_status(campaign.id)
    out.due_now = repo.count_due(campaign.id, now)
    if out.due_now == 0:
        later = repo.next_pending_at(campaign.id)
        if later is not None:
            out.next_due_at = iso(to_epoch(as_utc(later)))
        if out.contacts.get("pending", 0) + out.contacts.get("dialing", 0) == 0:
            out.reasons.append("no contact is left to dial: every contact is done, exhausted or on a do-not-call list")
        else:
            out.reasons.append(
                "no contact is due now" + (f"; the next is due at {out.next_due_at}" if out.next_due_at else "")
            )
    schedule = campaign_schedule(campaign)
    held: Counter[str] = Counter()
    for contact in repo.due_sample(campaign.id, now, SAMPLE):
        facts = contact_facts(session, campaign, contact, now)
        eligibility = explain(facts, schedule, now)
        codes = {r.code for r in eligibility.reasons} - {"campaign_not_running"}
        if not codes:
            out.eligible_now += 1
        held.update(codes)
    out.held_back = dict(held.most_common())
    if out.due_now and not out.eligible_now:
        what = ", ".join(f"{n} {code}" for code, n in held.most_common())
        out.reasons.append(f"every due contact is held back ({what})")
    out.dialing = not out.reasons
    return out


__all__ = ["CampaignExplanation", "ContactExplanation", "campaigns_of", "explain_campaign", "explain_contact"]
