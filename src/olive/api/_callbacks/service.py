"""Callbacks. Services flush but never commit; the request owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from olive.api._callbacks.schemas import CallbackCreate
from olive.api._deps import Paging
from olive.api._schemas import get_or_404, well_formed_id
from olive.compliance import cancel_callback, schedule_callback
from olive.errors import Conflict, Invalid
from olive.store import (
    Agent,
    Callback,
    CallbackRepository,
    Campaign,
    CampaignRepository,
    Contact,
    Page,
    as_utc,
    from_epoch,
)


def list_callbacks(
    session: Session,
    paging: Paging,
    *,
    campaign_id: str | None,
    contact_id: str | None,
    agent_id: str | None,
    status: str | None,
) -> Page[Callback]:
    return CallbackRepository(session).list_by(
        {"campaign_id": campaign_id, "contact_id": contact_id, "agent_id": agent_id, "status": status},
        order_by=("due_at", "id"), limit=paging.limit, offset=paging.offset,
    )


def get(session: Session, callback_id: str) -> Callback:
    return get_or_404(CallbackRepository(session), callback_id)


def create(session: Session, body: CallbackCreate) -> Callback:
    contact = _row(session, Contact, body.contact_id, "contact_id", "contact")
    campaign = _row(session, Campaign, body.campaign_id, "campaign_id", "campaign")
    if not CampaignRepository(session).dials_list(campaign.id, contact.dial_list_id):
        raise Invalid(f"campaign {campaign.name} does not dial this contact's list", field="contact_id")
    if body.agent_id is not None:
        _row(session, Agent, body.agent_id, "agent_id", "agent")
    if contact.status in ("dnc", "dialing"):
        raise Conflict(f"the contact is {'on a do-not-call list' if contact.status == 'dnc' else 'on a call'}", field="contact_id")
    return schedule_callback(
        session, contact.id, campaign.id, body.due_at.timestamp(), agent_id=body.agent_id, note=body.note
    )


def update(session: Session, callback_id: str, changes: dict[str, Any]) -> Callback:
    callback = get(session, callback_id)
    if callback.status != "scheduled":
        raise Conflict(f"callback {callback_id} is {callback.status}", field="status")
    if changes.get("agent_id") is not None:
        _row(session, Agent, changes["agent_id"], "agent_id", "agent")
    if "agent_id" in changes:
        callback.agent_id = changes["agent_id"]
    if "note" in changes:
        callback.note = changes["note"]
    if changes.get("due_at") is not None:
        callback.due_at = as_utc(changes["due_at"])
        contact = session.get(Contact, callback.contact_id)
        if contact is not None and contact.status == "pending" and contact.active_call_id is None:
            contact.next_attempt_at = from_epoch(changes["due_at"].timestamp())
    session.flush()
    return callback


def cancel(session: Session, callback_id: str) -> Callback:
    get(session, callback_id)
    return cancel_callback(session, callback_id)


def _row(session: Session, model: Any, id: str, field: str, kind: str) -> Any:
    found = session.get(model, id) if well_formed_id(id) else None
    if found is None:
        raise Invalid(f"no {kind} with id {id!r}", field=field)
    return found


__all__ = ["cancel", "create", "get", "list_callbacks", "update"]
