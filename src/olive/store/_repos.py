"""One repository per aggregate: plans, campaigns, dial lists, contacts, agents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import ORMOption

from olive.store._base import as_utc
from olive.store._campaigns import (
    Agent,
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    campaign_agents,
    campaign_dial_lists,
)
from olive.store._plans import Plan
from olive.store._queries import ContactRow, contacts_due, import_contacts
from olive.store._repository import Page, Repository

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

    def of_agent(self, agent_id: str) -> list[Campaign]:
        """The campaigns the agent works in, by name."""
        members = select(campaign_agents.c.campaign_id).where(
            campaign_agents.c.agent_id == agent_id
        )
        return self.all(self.select().where(Campaign.id.in_(members)).order_by(Campaign.name))

    def get_by_name(self, name: str, *, with_links: bool = False) -> Campaign | None:
        statement = self.select().where(Campaign.name == name)
        if with_links:
            statement = statement.options(*CAMPAIGN_LINKS)
        return self.one_or_none(statement)

    def dials_list(self, campaign_id: str, dial_list_id: str) -> bool:
        """Whether the campaign dials that dial list."""
        found = self.session.scalar(
            select(campaign_dial_lists.c.campaign_id).where(
                campaign_dial_lists.c.campaign_id == campaign_id, campaign_dial_lists.c.dial_list_id == dial_list_id
            )
        )
        return found is not None

    def dialing_list(self, dial_list_id: str) -> list[Campaign]:
        """The campaigns that dial the list, with their links, by name."""
        statement = (
            self.select()
            .join(campaign_dial_lists, campaign_dial_lists.c.campaign_id == Campaign.id)
            .where(campaign_dial_lists.c.dial_list_id == dial_list_id)
            .options(*CAMPAIGN_LINKS)
            .order_by(Campaign.name)
        )
        return self.all(statement)

    def find_with_links(self, id: str) -> Campaign | None:
        return self.one_or_none(self.select().where(Campaign.id == id).options(*CAMPAIGN_LINKS))

    def contacts_by_status(self, campaign_id: str) -> dict[str, int]:
        """The campaign's contacts by status, counted from the contacts themselves."""
        rows = self.session.execute(
            select(Contact.status, func.count())
            .join(campaign_dial_lists, campaign_dial_lists.c.dial_list_id == Contact.dial_list_id)
            .where(campaign_dial_lists.c.campaign_id == campaign_id)
            .group_by(Contact.status)
        )
        return {status: int(n) for status, n in rows}

    def _pending(self, campaign_id: str) -> Select[Contact]:
        return (
            select(Contact)
            .join(campaign_dial_lists, campaign_dial_lists.c.dial_list_id == Contact.dial_list_id)
            .where(campaign_dial_lists.c.campaign_id == campaign_id, Contact.status == "pending", Contact.active_call_id.is_(None))
        )

    def _due(self, campaign_id: str, now: datetime | float) -> Select[Contact]:
        pending = self._pending(campaign_id)
        return pending.where((Contact.next_attempt_at.is_(None)) | (Contact.next_attempt_at <= as_utc(now)))

    def count_due(self, campaign_id: str, now: datetime | float) -> int:
        """How many of its pending, unclaimed contacts are due at ``now``."""
        return int(self.session.scalar(select(func.count()).select_from(self._due(campaign_id, now).subquery())) or 0)

    def next_pending_at(self, campaign_id: str) -> datetime | None:
        """The earliest retry time among its pending, unclaimed contacts."""
        waiting = self._pending(campaign_id).subquery()
        found: datetime | None = self.session.scalar(select(func.min(waiting.c.next_attempt_at)))
        return found

    def due_sample(self, campaign_id: str, now: datetime | float, limit: int) -> list[Contact]:
        """Up to ``limit`` of its contacts due at ``now``, with their numbers, soonest first."""
        statement = (
            self._due(campaign_id, now)
            .options(selectinload(Contact.numbers))
            .order_by(Contact.next_attempt_at, Contact.id)
            .limit(limit)
        )
        return list(self.session.scalars(statement))

    def by_name_or_id(self, key: str) -> Campaign | None:
        return self.session.scalars(self.select().where((Campaign.name == key) | (Campaign.id == key))).first()

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

    def campaigns_dialing(self, dial_list_id: str, statuses: Sequence[str]) -> list[str]:
        """The names of the campaigns in ``statuses`` that dial the list."""
        return list(self.session.scalars(
            select(Campaign.name)
            .join(campaign_dial_lists, campaign_dial_lists.c.campaign_id == Campaign.id)
            .where(campaign_dial_lists.c.dial_list_id == dial_list_id, Campaign.status.in_(statuses))
            .order_by(Campaign.name)
        ))

    def contacts_on_a_call(self, dial_list_id: str) -> int:
        statement = select(func.count()).select_from(Contact).where(
            Contact.dial_list_id == dial_list_id, Contact.active_call_id.is_not(None)
        )
        return int(self.session.scalar(statement) or 0)

    def contact_counts(self, dial_list_ids: Sequence[str]) -> dict[str, int]:
        """Each list's number of contacts (lists without any are left out)."""
        if not dial_list_ids:
            return {}
        rows = self.session.execute(
            select(Contact.dial_list_id, func.count())
            .where(Contact.dial_list_id.in_(dial_list_ids))
            .group_by(Contact.dial_list_id)
        )
        return {list_id: int(n) for list_id, n in rows}

    def campaign_ids(self, dial_list_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each list's campaigns' ids, in id order."""
        out: dict[str, list[str]] = {id: [] for id in dial_list_ids}
        if out:
            rows = self.session.execute(
                select(campaign_dial_lists.c.dial_list_id, campaign_dial_lists.c.campaign_id)
                .where(campaign_dial_lists.c.dial_list_id.in_(out))
                .order_by(campaign_dial_lists.c.campaign_id)
            )
            for list_id, campaign_id in rows:
                out[list_id].append(campaign_id)
        return out

    def contact_count(self, dial_list_id: str) -> int:
        statement = (
            select(func.count()).select_from(Contact).where(Contact.dial_list_id == dial_list_id)
        )
        return int(self.session.scalar(statement) or 0)


class ContactRepository(Repository[Contact]):
    model = Contact
    kind = "contact"

    def numbers(self, contact_id: str) -> list[ContactNumber]:
        """The contact's numbers, in the order they are tried."""
        statement = select(ContactNumber).where(ContactNumber.contact_id == contact_id).order_by(ContactNumber.position)
        return list(self.session.scalars(statement))

    def first_numbers(self, contact_ids: Iterable[str]) -> dict[str, str]:
        """Each contact's first number (by position), for those that have one."""
        ids = sorted(set(contact_ids))
        first: dict[str, str] = {}
        if ids:
            rows = self.session.execute(
                select(ContactNumber.contact_id, ContactNumber.number)
                .where(ContactNumber.contact_id.in_(ids))
                .order_by(ContactNumber.contact_id, ContactNumber.position)
            )
            for contact_id, number in rows:
                first.setdefault(contact_id, number)
        return first

    def ids_for(self, *, external_ref: str | None = None, number: str | None = None) -> list[str]:
        """The ids of the contacts with that external ref, or with that number (E.164)."""
        if external_ref is not None:
            return list(self.session.scalars(select(Contact.id).where(Contact.external_ref == external_ref).order_by(Contact.id)))
        statement = select(ContactNumber.contact_id).where(ContactNumber.number == number).distinct()
        return list(self.session.scalars(statement))

    def get_with_numbers(self, id: str) -> Contact:
        return self.get_or_raise(id, options=(selectinload(Contact.numbers),))

    def load(self, id: str) -> Contact | None:
        """The contact with its numbers, read afresh (not from the session's identity map)."""
        statement = self.select().where(Contact.id == id).options(selectinload(Contact.numbers))
        return self.session.scalars(statement.execution_options(populate_existing=True)).one_or_none()

    def search(
        self,
        dial_list_id: str,
        *,
        status: str | None,
        external_ref: str | None,
        number: str | None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Contact]:
        """A page of a dial list's contacts, by status, external ref and one of their numbers (E.164)."""
        where: list[ColumnElement[bool]] = []
        if number is not None:
            where.append(Contact.id.in_(select(ContactNumber.contact_id).where(ContactNumber.number == number)))
        return self.list_by(
            {"dial_list_id": dial_list_id, "status": status, "external_ref": external_ref},
            *where, order_by=("created_at",), limit=limit, offset=offset, options=(selectinload(Contact.numbers),),
        )

    def replace_numbers(self, contact: Contact, numbers: Iterable[str]) -> None:
        """The contact's numbers become ``numbers``, in order; dialing starts again at the first."""
        self.session.execute(delete(ContactNumber).where(ContactNumber.contact_id == contact.id))
        self.session.add_all(ContactNumber(contact_id=contact.id, position=i, number=n) for i, n in enumerate(numbers))
        contact.next_number_index = 0

    def refs_taken(self, dial_list_id: str, refs: Sequence[str]) -> list[str]:
        """Which of ``refs`` (external refs) the list already has."""
        statement = select(Contact.external_ref).where(
            Contact.dial_list_id == dial_list_id, Contact.external_ref.in_(refs)
        )
        return [ref for ref in self.session.scalars(statement) if ref]

    def undo_import(self, dial_list_id: str, first_id: str, last_id: str, created_at: datetime) -> int:
        """Delete the contacts one import wrote (ids in ``[first_id, last_id]``, stamped
        ``created_at``), except those already dialed; returns how many were kept."""
        mine = (
            Contact.dial_list_id == dial_list_id,
            Contact.id.between(first_id, last_id),
            Contact.created_at == created_at,
        )
        self.session.execute(
            delete(Contact)
            .where(*mine, Contact.active_call_id.is_(None), Contact.attempts == 0)
            .execution_options(synchronize_session=False)
        )
        return int(self.session.scalar(select(func.count()).select_from(Contact).where(*mine)) or 0)

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

    def search(
        self, *, state: str | None, name: str | None, campaign_id: str | None, limit: int = 50, offset: int = 0
    ) -> Page[Agent]:
        """Agents by state and name, and (``campaign_id``) those of one campaign."""
        where: list[ColumnElement[bool]] = []
        if campaign_id is not None:
            members = select(campaign_agents.c.agent_id).where(campaign_agents.c.campaign_id == campaign_id)
            where.append(Agent.id.in_(members))
        return self.list_by({"state": state, "name": name}, *where, order_by=("name",), limit=limit, offset=offset)

    def campaign_ids(self, agent_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each agent's campaigns' ids, in id order."""
        out: dict[str, list[str]] = {id: [] for id in agent_ids}
        if out:
            rows = self.session.execute(
                select(campaign_agents.c.agent_id, campaign_agents.c.campaign_id)
                .where(campaign_agents.c.agent_id.in_(out))
                .order_by(campaign_agents.c.campaign_id)
            )
            for agent_id, campaign_id in rows:
                out[agent_id].append(campaign_id)
        return out

    def names(self, agent_ids: Iterable[str]) -> dict[str, str]:
        """Agent id -> name, for those of ``agent_ids`` that exist."""
        ids = sorted(set(agent_ids))
        if not ids:
            return {}
        return {
            id: name
            for id, name in self.session.execute(
                select(Agent.id, Agent.name).where(Agent.id.in_(ids))
            )
        }

    def states_by_name(self) -> dict[str, str]:
        """Every agent's state, by name."""
        return {
            name: state for name, state in self.session.execute(select(Agent.name, Agent.state))
        }

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
