"""The resources the API serves. A new resource is a package (endpoints, schemas,
service) whose ``router`` is added here."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from olive.api import (
        _agent,
        _agent_access,
        _agents,
        _callbacks,
        _calls,
        _campaigns,
        _compliance,
        _contacts,
        _dial_lists,
        _dispositions,
        _dnc,
        _events,
        _pages,
        _plans,
        _pool,
    )

    return [
        _plans.router,
        _campaigns.router,
        _agents.router,
        _agent_access.router,
        _agent.router,
        _dial_lists.router,
        _contacts.router,
        _calls.router,
        _events.router,
        _dnc.router,
        _dispositions.router,
        _callbacks.router,
        _compliance.router,
        _pool.router,
        _pages.router,  # the dashboard: GET /dashboard (not in the schema)
        _pages.agent_router,  # the agent's page: GET /agent (not in the schema)
    ]


__all__ = ["routers"]
