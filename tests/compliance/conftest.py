"""Builders for compliance tests on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

# The API's live server and its clients (test_api.py).
from tests.api.conftest import admin, anon, keys, live_api, viewer  # noqa: F401

from olive.store import (
    Agent,
    Call,
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    Plan,
    from_epoch,
)

# Thursday 2026-01-15 17:00 UTC: 12:00 in New York, 17:00 in London.
NOON_NY = datetime(2026, 1, 15, 17, 0, tzinfo=UTC).timestamp()
LATE_NY = datetime(2026, 1, 16, 2, 30, tzinfo=UTC).timestamp()  # 21:30 in New York
NY_NUMBER = "+12125550100"
NY_NUMBER_2 = "+12125550101"
LONDON_NUMBER = "+442079460000"


class Builder:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.n = 0

    def _next(self) -> int:
        self.n += 1
        return self.n

    def campaign(
        self,
        *,
        profile: str = "us-tsr",
        status: str = "running",
        schedule: dict[str, Any] | None = None,
        agents: Sequence[Agent] = (),
        **plan: Any,
    ) -> Campaign:
        n = self._next()
        plan.setdefault("channel_template", "PJSIP/{number}@trunk")
        row = Plan(name=f"plan {n}", **plan)
        dial_list = DialList(name=f"list {n}")
        self.session.add_all([row, dial_list])
        self.session.flush()
        campaign = Campaign(
            name=f"campaign {n}",
            plan_id=row.id,
            queue="olive-sales",
            status=status,
            compliance_profile=profile,
            schedule=schedule,
            dial_lists=[dial_list],
            agents=list(agents),
        )
        self.session.add(campaign)
        self.session.flush()
        return self.load(campaign.id)

    def load(self, campaign_id: str) -> Campaign:
        from olive.store import CAMPAIGN_LINKS

        return self.session.scalars(
            select(Campaign).where(Campaign.id == campaign_id).options(*CAMPAIGN_LINKS).execution_options(populate_existing=True)
        ).one()

    def agent(self, state: str = "ready") -> Agent:
        n = self._next()
        agent = Agent(name=f"agent{n}", interface=f"PJSIP/{100 + n}", state=state)
        self.session.add(agent)
        self.session.flush()
        return agent

    def contact(self, campaign: Campaign, numbers: Sequence[str] = (NY_NUMBER,), **fields: Any) -> Contact:
        contact = Contact(
            dial_list_id=campaign.dial_lists[0].id,
            numbers=[ContactNumber(position=i, number=n) for i, n in enumerate(numbers)],
            **fields,
        )
        self.session.add(contact)
        self.session.flush()
        return self.contact_row(contact.id)

    def contact_row(self, contact_id: str) -> Contact:
        return self.session.scalars(
            select(Contact).where(Contact.id == contact_id).options(selectinload(Contact.numbers)).execution_options(populate_existing=True)
        ).one()

    def call(self, campaign: Campaign, contact: Contact | None, number: str = NY_NUMBER, **fields: Any) -> Call:
        fields.setdefault("originated_at", from_epoch(NOON_NY - 7200))
        fields.setdefault("state", "ended")
        call = Call(
            campaign_id=campaign.id,
            contact_id=None if contact is None else contact.id,
            contact_number_id=None if contact is None else contact.numbers[0].id,
            number=number,
            **fields,
        )
        self.session.add(call)
        self.session.flush()
        return call


@pytest.fixture
def build(session: Session) -> Builder:
    return Builder(session)
