"""One repository per aggregate: plans, campaigns, dial lists, contacts, agents."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import ORMOption

from olive.store._campaigns import (
    Agent,
    Campaign,
    Contact,
    DialList,
    campaign_agents,
    campaign_dial_lists,
)
from olive.store._plans import Plan
from olive.store._queries import ContactRow, contacts_due, import_contacts
from olive.store._repository import Repository

#: Loader options for a campaign with its plan, dial lists and agents.
CAMPAIGN_LINKS: tuple[ORMOption, ...] = (
    selectinload(Campaign.plan),
    selectinload(Campaign.dial_lists),
    selectinload(Campaign.agents),
)


class PlanRepository(Repository[Plan]):
    model = Plan
    kind = "plan"

    def get_by_name(self, name: str) -> Plan | None:
        return self.one_or_none(self.select().where(Plan.name == name))

    def campaigns_using(self, plan_id: str, *statuses: str) -> list[Campaign]:
        """Campaigns on this plan (only those in ``statuses``, if given)."""
        statement = select(Campaign).where(Campaign.plan_id == plan_id)
        if statuses:
            statement = statement.where(Campaign.status.in_(statuses))
        return list(self.session.scalars(statement.order_by(Campaign.id)).all())


class CampaignRepository(Repository[Campaign]):
    model = Campaign
    kind = "campaign"

    def get_by_name(self, name: str, *, with_links: bool = False) -> Campaign | None:
        statement = self.select().where(Campaign.name == name)
        if with_links:
            statement = statement.options(*CAMPAIGN_LINKS)
        return self.one_or_none(statement)

    def get_with_links(self, id: str) -> Campaign:
        """The campaign with plan, dial lists and agents loaded; raises NotFound."""
        return self.get_or_raise(id, options=CAMPAIGN_LINKS)

    def with_status(self, *statuses: str) -> list[Campaign]:
        statement = self.select().where(Campaign.status.in_(statuses)).order_by(Campaign.id)
        return self.all(statement.options(*CAMPAIGN_LINKS))

    def contacts_remaining(self, campaign_id: str) -> int:
        """Contacts of the campaign's lists still to be dialed (pending or dialing)."""
        statement = (
            select(func.count())
            .select_from(Contact)
            .join(campaign_dial_lists, campaign_dial_lists.c.dial_list_id == Contact.dial_list_id)
            .where(
                campaign_dial_lists.c.campaign_id == campaign_id,
                Contact.status.in_(("pending", "dialing")),
            )
        )
        return int(self.session.scalar(statement) or 0)

    def has_contacts_remaining(self, campaign_id: str) -> bool:
        """Whether any contact of the campaign's lists is still pending or dialing.

        Stops at the first one (``ix_contacts_due``), where counting them would
        read every pending contact: the engine asks this of idle campaigns.
        """
        lists = select(campaign_dial_lists.c.dial_list_id).where(campaign_dial_lists.c.campaign_id == campaign_id)
        return any(
            self.session.scalar(
                select(Contact.id)
                .where(Contact.dial_list_id == list_id, Contact.status == status)
                .limit(1)
            )
            is not None
            for list_id in self.session.scalars(lists).all()
            for status in ("pending", "dialing")
        )


class DialListRepository(Repository[DialList]):
    model = DialList
    kind = "dial list"

    def get_by_name(self, name: str) -> DialList | None:
        return self.one_or_none(self.select().where(DialList.name == name))

    def contact_count(self, dial_list_id: str) -> int:
        statement = (
            select(func.count()).select_from(Contact).where(Contact.dial_list_id == dial_list_id)
        )
        return int(self.session.scalar(statement) or 0)


class ContactRepository(Repository[Contact]):
    model = Contact
    kind = "contact"

    def get_with_numbers(self, id: str) -> Contact:
        return self.get_or_raise(id, options=(selectinload(Contact.numbers),))

    def get_by_external_ref(self, dial_list_id: str, external_ref: str) -> Contact | None:
        return self.one_or_none(
            self.select().where(
                Contact.dial_list_id == dial_list_id, Contact.external_ref == external_ref
            )
        )

    def due(self, campaign_id: str, now: datetime | float, limit: int) -> list[Contact]:
        return contacts_due(self.session, campaign_id, now, limit)

    def import_rows(
        self, dial_list_id: str, rows: Iterable[ContactRow], *, now: datetime | float | None = None
    ) -> list[str]:
        return import_contacts(self.session, dial_list_id, rows, now=now)


class AgentRepository(Repository[Agent]):
    model = Agent
    kind = "agent"

    def get_by_name(self, name: str) -> Agent | None:
        return self.one_or_none(self.select().where(Agent.name == name))

    def get_by_interface(self, interface: str) -> Agent | None:
        return self.one_or_none(self.select().where(Agent.interface == interface))

    def for_campaign(self, campaign_id: str) -> list[Agent]:
        statement = (
            self.select()
            .join(campaign_agents, campaign_agents.c.agent_id == Agent.id)
            .where(campaign_agents.c.campaign_id == campaign_id)
            .order_by(Agent.name)
        )
        return self.all(statement)


__all__ = [
    "CAMPAIGN_LINKS",
    "AgentRepository",
    "CampaignRepository",
    "ContactRepository",
    "DialListRepository",
    "PlanRepository",
]
