"""Preview mode on the agent's page, the verbs that drive the engine: the contact olive put on their screen, Dial and Skip
(the engine's ``Previews`` does the work; see engine/_preview.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from olive.api._agent.schemas import CampaignBrief, PreviewCard, PreviewDialed, PreviewOut
from olive.api._agent.service import contact_card
from olive.api._agent_auth import AgentPrincipal
from olive.api._deps import ApiContext
from olive.engine._preview import open_preview
from olive.store import Campaign, Contact, ContactRepository, Plan


def read_preview(session: Session, me: AgentPrincipal) -> PreviewOut:
    preview = open_preview(session, me.agent_id)
    if preview is None:
        return PreviewOut(preview=None)
    campaign = session.get(Campaign, preview.campaign_id)
    contact = session.get(Contact, preview.contact_id)
    if campaign is None or contact is None:
        return PreviewOut(preview=None)
    numbers = ContactRepository(session).numbers(contact.id)
    to_dial = numbers[contact.next_number_index % len(numbers)] if numbers else None
    briefs, history, callbacks = contact_card(session, me, contact, to_dial.id if to_dial else None)
    plan = session.get(Plan, campaign.plan_id)
    return PreviewOut(
        preview=PreviewCard(
            id=preview.id,
            campaign=CampaignBrief(id=campaign.id, name=campaign.name, status=campaign.status),
            offered_at=preview.offered_at,
            expires_at=preview.expires_at,
            timeout_action=(plan.preview_timeout_action if plan is not None else None) or "skip",
            contact_id=contact.id,
            name=contact.name,
            external_ref=contact.external_ref,
            timezone=contact.timezone,
            number=to_dial.number if to_dial else "",
            fields=dict(contact.variables or {}),
            numbers=briefs,
            history=history,
            callbacks=callbacks,
        )
    )


async def dial(context: ApiContext, me: AgentPrincipal) -> PreviewDialed:
    return PreviewDialed(call_id=await context.on_engine(context.engine.previews.dial(me.agent_id)))


async def skip(context: ApiContext, me: AgentPrincipal, reason: str) -> None:
    await context.on_engine(context.engine.previews.skip(me.agent_id, reason))


__all__ = ["dial", "read_preview", "skip"]
