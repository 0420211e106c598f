"""Builders for store tests: each adds a valid row with overridable fields and flushes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.orm import Session

from olive.store import (
    Agent,
    Call,
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    Plan,
)


class Factory:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _add(self, obj: Any) -> Any:
        self.session.add(obj)
        self.session.flush()
        return obj

    def plan(self, **fields: Any) -> Plan:
        fields.setdefault("name", f"plan {self._next()}")
        fields.setdefault("channel_template", "PJSIP/{number}@trunk")
        plan: Plan = self._add(Plan(**fields))
        return plan

    def dial_list(self, **fields: Any) -> DialList:
        fields.setdefault("name", f"list {self._next()}")
        dial_list: DialList = self._add(DialList(**fields))
        return dial_list

    def agent(self, **fields: Any) -> Agent:
        n = self._next()
        fields.setdefault("name", f"agent {n}")
        fields.setdefault("interface", f"PJSIP/{100 + n}")
        agent: Agent = self._add(Agent(**fields))
        return agent

    def campaign(
        self,
        *,
        plan: Plan | None = None,
        dial_lists: Sequence[DialList] = (),
        agents: Sequence[Agent] = (),
        **fields: Any,
    ) -> Campaign:
        fields.setdefault("name", f"campaign {self._next()}")
        fields.setdefault("queue", "sales")
        campaign = Campaign(
            plan_id=(plan or self.plan()).id,
            dial_lists=list(dial_lists),
            agents=list(agents),
            **fields,
        )
        result: Campaign = self._add(campaign)
        return result

    def contact(
        self, dial_list: DialList, numbers: Sequence[str] = ("+15551230001",), **fields: Any
    ) -> Contact:
        contact = Contact(
            dial_list_id=dial_list.id,
            numbers=[ContactNumber(position=i, number=n) for i, n in enumerate(numbers)],
            **fields,
        )
        result: Contact = self._add(contact)
        return result

    def call(self, campaign: Campaign, contact: Contact | None, **fields: Any) -> Call:
        fields.setdefault("number", "+15551230001")
        call = Call(
            campaign_id=campaign.id, contact_id=None if contact is None else contact.id, **fields
        )
        result: Call = self._add(call)
        return result


@pytest.fixture
def factory(session: Session) -> Factory:
    return Factory(session)
