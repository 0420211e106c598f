"""A call as the engine leaves it in the store right before its Originate (write-ahead)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from olive.engine._persist import DialIntent, write_ahead
from olive.store import (
    Campaign,
    ContactNumber,
    ContactRow,
    DialList,
    Plan,
    import_contacts,
    transaction,
)


def placed_call(sessions: sessionmaker[Session], call_id: str = "call_1", now: float = 100.0) -> str:
    """Store a campaign with one contact and its call ``call_id``, placed at ``now``; the contact's id."""
    with transaction(sessions) as s:
        plan = Plan(name="p", channel_template="PJSIP/{number}@t")
        dial_list = DialList(name="l")
        s.add_all([plan, dial_list])
        s.flush()
        (contact_id,) = import_contacts(s, dial_list.id, [ContactRow(numbers=("+12025550142",))])
        campaign = Campaign(name="c", plan=plan, queue="q", dial_lists=[dial_list])
        s.add(campaign)
        s.flush()
        number = s.scalars(select(ContactNumber).where(ContactNumber.contact_id == contact_id)).one()
        intent = DialIntent(call_id, campaign.id, contact_id, number.id, number.number, 1, "default", "PJSIP/x@t")
        assert write_ahead(s, intent, plan.snapshot(), now)
    return contact_id
