"""Campaigns and plans: every query of the aggregate (the repositories, and the
engine's once-a-second read of its campaigns with their agents).

The engine's reads of its campaigns and agents, every second, as plain rows.

The engine re-reads the running and paused campaigns about once a second (an
operator may have changed a plan, logged an agent in, paused one). Read with
their agents as ORM objects (``selectinload(Campaign.agents)``) that was 1,000
mapped objects a second at 1,000 agents, built, put in the identity map and
expired at the commit, all on the database thread, whose Python work competes
with the event loop for the interpreter. The campaigns (a few rows) keep their
plan and dial lists as ORM objects; their agents come as :class:`EngineAgent`
tuples from two column queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import ORMOption

from olive.store._base import as_utc
from olive.store._campaigns import (
    Agent,
    Campaign,
    Contact,
    campaign_agents,
    campaign_dial_lists,
)
from olive.store._plans import Plan
from olive.store._repository import Repository


@dataclass(frozen=True, slots=True)
class EngineAgent:
    """What the engine needs of an agent: who, which phone, logged in or paused."""

    id: str
    name: str
    interface: str
    state: str
    pause_reason: str | None
    server: str | None = None  # where their phone is; None: the campaign's first server

    def on(self, server: str, campaign_server: str) -> bool:
        """Whether the agent's phone is on ``server``, for a campaign whose first server is ``campaign_server``."""
        return (self.server or campaign_server) == server


@dataclass
class EngineRead:
    """The campaigns of some statuses (plan and dial lists loaded; not their agents) and
    every agent, with each campaign's agents as plain rows."""

    campaigns: list[Campaign]
    agent_ids: dict[str, str]  # interface -> agent id, every agent (the members olive owns)
    agents: dict[str, list[EngineAgent]]  # campaign id -> its agents, in id order


def read_engine_campaigns(session: Session, statuses: Sequence[str] = ("running", "paused")) -> EngineRead:
    campaigns = list(
        session.scalars(
            select(Campaign)
            .where(Campaign.status.in_(tuple(statuses)))
            .order_by(Campaign.id)
            .options(selectinload(Campaign.plan), selectinload(Campaign.dial_lists))
        )
    )
    every = {
        row[0]: EngineAgent(*row)
        for row in session.execute(select(Agent.id, Agent.name, Agent.interface, Agent.state, Agent.pause_reason, Agent.server))
    }
    agents: dict[str, list[EngineAgent]] = {c.id: [] for c in campaigns}
    if campaigns:
        links = session.execute(
            select(campaign_agents.c.campaign_id, campaign_agents.c.agent_id)
            .where(campaign_agents.c.campaign_id.in_(list(agents)))
            .order_by(campaign_agents.c.campaign_id, campaign_agents.c.agent_id)
        )
        for campaign_id, agent_id in links:
            if (agent := every.get(agent_id)) is not None:
                agents[campaign_id].append(agent)
    return EngineRead(campaigns, {a.interface: a.id for a in every.values()}, agents)


def campaign_status(session: Session, campaign_id: str) -> str | None:
    """A campaign's status as the store has it now (the engine asks right before claiming)."""
    return session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))


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


def first_server(session: Session, campaign_id: str) -> str | None:
    """The server ``campaigns.server`` names in the database (a unit's engine sees its campaign
    on its own server in memory, :func:`~olive.store.on_server`)."""
    return session.scalar(select(Campaign.server).where(Campaign.id == campaign_id))


__all__ = [
    "CAMPAIGN_LINKS",
    "CampaignRepository",
    "EngineAgent",
    "EngineRead",
    "PlanRepository",
    "campaign_status",
    "first_server",
    "read_engine_campaigns",
]
