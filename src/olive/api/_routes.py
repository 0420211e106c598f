"""The resources the API serves. A new resource is a package (endpoints, schemas,
service) whose ``router`` is added here."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from olive import web
    from olive.api import (
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
        _plans,
    )

    return [
        _plans.router,
        _campaigns.router,
        _agents.router,
        _dial_lists.router,
        _contacts.router,
        _calls.router,
        _events.router,
        _dnc.router,
        _dispositions.router,
        _callbacks.router,
        _compliance.router,
        web.router,  # the dashboard: GET /dashboard (not in the schema)
    ]


__all__ = ["routers"]
