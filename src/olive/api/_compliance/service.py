"""Explanations and exports, read from the store (nothing is written, not even a DNC check)."""

from __future__ import annotations

import io

from sqlalchemy.orm import Session

from olive.api._compliance.schemas import CampaignDialing, CampaignEligibility, ContactEligibility
from olive.api._schemas import well_formed_id
from olive.compliance import EXPORTS, explain_campaign, explain_contact, export_rows, write_csv
from olive.engine import Engine
from olive.errors import Invalid
from olive.store import CampaignRepository, NotFound


def contact(session: Session, contact_id: str, campaign_id: str | None, now: float) -> ContactEligibility:
    if not well_formed_id(contact_id):
        raise NotFound("contact", contact_id)
    answers = [CampaignEligibility.model_validate(a.as_dict()) for a in explain_contact(session, contact_id, now, campaign_id)]
    return ContactEligibility(contact_id=contact_id, dial_now=any(a.dial_now for a in answers), campaigns=answers)


def campaign(session: Session, campaign_id: str, engine: Engine) -> CampaignDialing:
    if not well_formed_id(campaign_id):
        raise NotFound("campaign", campaign_id)
    found = explain_campaign(session, campaign_id, engine.clock.now(), engine.note(campaign_id))
    return CampaignDialing.model_validate(found.as_dict())


def export_csv(session: Session, kind: str, now: float, campaign_id: str | None, since: float | None, until: float | None) -> str:
    if campaign_id is not None and (not well_formed_id(campaign_id) or CampaignRepository(session).get(campaign_id) is None):
        raise Invalid(f"no campaign with id {campaign_id!r}", field="campaign_id")
    out = io.StringIO()
    write_csv(out, EXPORTS[kind], export_rows(kind, session, now, campaign_id, since, until))
    return out.getvalue()


__all__ = ["campaign", "contact", "export_csv"]
