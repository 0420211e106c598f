"""Agents: CRUD, and the shift verbs (login, ready, pause, logout) through the engine.

The shift verbs change the store and send QueuePause/QueueRemove at once;
the engine's next tick adds logged-in agents to their running campaigns'
queues (QueueAdd), so Asterisk's queue membership follows the agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from olive.api._agents.schemas import AgentCreate, AgentOut
from olive.api._deps import ApiContext, Paging
from olive.api._schemas import get_or_404, validate_merged
from olive.errors import Conflict, Invalid
from olive.store import Agent, AgentRepository, Page, pool_servers, transaction


def list_agents(
    session: Session, paging: Paging, *, state: str | None, name: str | None, campaign_id: str | None
) -> Page[Agent]:
    return AgentRepository(session).search(
        state=state, name=name, campaign_id=campaign_id, limit=paging.limit, offset=paging.offset
    )


def get(session: Session, agent_id: str) -> Agent:
    return get_or_404(AgentRepository(session), agent_id)


def create(session: Session, spec: AgentCreate) -> Agent:
    repo = AgentRepository(session)
    _unique(repo, spec.name, spec.interface)
    known_server(session, spec.server)
    return repo.add(Agent(name=spec.name, interface=spec.interface, server=spec.server))


def update(session: Session, agent_id: str, changes: dict[str, Any]) -> Agent:
    repo = AgentRepository(session)
    agent = get(session, agent_id)
    spec = validate_merged(
        AgentCreate, {"name": agent.name, "interface": agent.interface, "server": agent.server, **changes}
    )
    for key in ("interface", "server"):
        if getattr(spec, key) != getattr(agent, key) and agent.state != "logged_out":
            raise Conflict(f"agent {agent.name} is {agent.state}; log them out to change their {key}", field=key)
    if spec.server != agent.server:
        known_server(session, spec.server)
    _unique(
        repo,
        spec.name if spec.name != agent.name else None,
        spec.interface if spec.interface != agent.interface else None,
    )
    agent.name, agent.interface, agent.server = spec.name, spec.interface, spec.server
    session.flush()
    return agent


def delete(session: Session, agent_id: str) -> None:
    agent = get(session, agent_id)
    if agent.state != "logged_out":
        raise Conflict(f"agent {agent.name} is {agent.state}; log them out first", field="state")
    AgentRepository(session).delete(agent)


def to_out(session: Session, agents: Sequence[Agent]) -> list[AgentOut]:
    campaigns = AgentRepository(session).campaign_ids(a.id for a in agents)
    return [
        AgentOut(
            id=a.id,
            created_at=a.created_at,
            updated_at=a.updated_at,
            name=a.name,
            interface=a.interface,
            server=a.server,
            state=a.state,  # type: ignore[arg-type]
            pause_reason=a.pause_reason,
            state_since=a.state_since,
            current_call_id=a.current_call_id,
            campaign_ids=campaigns[a.id],
        )
        for a in agents
    ]


def read_sync(context: ApiContext, agent_id: str) -> AgentOut:
    with transaction(context.sessions) as session:
        return to_out(session, [get(session, agent_id)])[0]


async def read(context: ApiContext, agent_id: str) -> AgentOut:
    return await run_in_threadpool(read_sync, context, agent_id)


async def login(context: ApiContext, agent_id: str) -> AgentOut:
    await read(context, agent_id)
    await context.on_engine(context.engine.control.login_agent(agent_id))
    return await read(context, agent_id)


async def ready(context: ApiContext, agent_id: str) -> AgentOut:
    await read(context, agent_id)
    await context.on_engine(context.engine.control.ready_agent(agent_id))
    return await read(context, agent_id)


async def pause(context: ApiContext, agent_id: str, reason: str) -> AgentOut:
    await read(context, agent_id)
    await context.on_engine(context.engine.control.pause_agent(agent_id, reason))
    return await read(context, agent_id)


async def logout(context: ApiContext, agent_id: str) -> AgentOut:
    await read(context, agent_id)
    await context.on_engine(context.engine.control.logout_agent(agent_id))
    return await read(context, agent_id)


def known_server(session: Session, name: str | None) -> None:
    """A server named for an agent must be one the nodes were configured with (``servers``, written
    by ``olive serve`` at start), when there are any: 422 otherwise."""
    if name is None:
        return
    pool = pool_servers(session)
    if pool and name not in pool:
        raise Invalid(
            f"no Asterisk server named {name!r} is configured (configured: {', '.join(pool)})", field="server"
        )


def _unique(repo: AgentRepository, name: str | None, interface: str | None) -> None:
    if name is not None and repo.get_by_name(name) is not None:
        raise Conflict(f"an agent named {name!r} already exists", field="name")
    if interface is not None and repo.get_by_interface(interface) is not None:
        raise Conflict(f"an agent with interface {interface!r} already exists", field="interface")


__all__ = ["create", "delete", "get", "known_server", "list_agents", "login", "logout", "pause", "read", "ready", "to_out", "update"]
