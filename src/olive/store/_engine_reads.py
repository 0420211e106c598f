"""The engine's reads of its campaigns and agents, every second, as plain rows.

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

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from olive.store._base import as_utc
from olive.store._campaigns import Agent, Campaign, campaign_agents
from olive.store._compliance import Callback

CHUNK = 500  # bound parameters per statement


@dataclass(frozen=True, slots=True)
class EngineAgent:
    """What the engine needs of an agent: who, which phone, logged in or paused."""

    id: str
    name: str
    interface: str
    state: str
    pause_reason: str | None


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
        for row in session.execute(select(Agent.id, Agent.name, Agent.interface, Agent.state, Agent.pause_reason))
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


def contacts_with_due_callbacks(session: Session, campaign_id: str, contact_ids: Sequence[str], now: float) -> set[str]:
    """Which of these contacts have a callback of the campaign scheduled and due at ``now``:
    one query for a tick's candidates, where asking per contact was a query per dial."""
    out: set[str] = set()
    ids = list(contact_ids)
    for start in range(0, len(ids), CHUNK):
        out.update(
            session.scalars(
                select(Callback.contact_id).where(
                    Callback.campaign_id == campaign_id,
                    Callback.contact_id.in_(ids[start : start + CHUNK]),
                    Callback.status == "scheduled",
                    Callback.due_at <= as_utc(now),
                )
            )
        )
    return out


def campaign_status(session: Session, campaign_id: str) -> str | None:
    """A campaign's status as the store has it now (the engine asks right before claiming)."""
    return session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))


__all__ = ["EngineAgent", "EngineRead", "campaign_status", "contacts_with_due_callbacks", "read_engine_campaigns"]
