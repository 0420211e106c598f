"""olive's web pages, served by the API app with its key checks: the live
dashboard (``GET /dashboard``, and who the key is) and the agent's page
(``GET /agent``). Static HTML, CSS and plain JavaScript (``static/``), no build
step; see docs/dashboard.md and docs/agents.md.

The page and its files need no key: they hold no data and no secret. The data
comes from the REST API, which the page calls with the key the user gives it.
None of these routes is in the OpenAPI schema: they are not part of the API.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from olive.api._deps import Principal, checked

#: The files the page loads, and their media types. Nothing else is served.
ASSETS = {
    "dashboard.css": "text/css; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "panels.js": "text/javascript; charset=utf-8",
    "stream.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
}

#: Only this origin's scripts, styles and API; no inline script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(prefix="/dashboard", include_in_schema=False)


class Caller(BaseModel):
    """The key the page was given: its name and role (never the key)."""

    name: str
    role: str


def _read(name: str) -> bytes:
    return (resources.files("olive.api") / "static" / name).read_bytes()


@router.get("")
def dashboard() -> Response:
    headers = {**HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Frame-Options": "DENY"}
    return Response(_read("dashboard.html"), media_type="text/html; charset=utf-8", headers=headers)


@router.get("/static/{name}")
def asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"the dashboard has no file {name!r}")
    return Response(_read(name), media_type=media_type, headers=HEADERS)


@router.get("/whoami")
def whoami(principal: Annotated[Principal, Depends(checked)]) -> Caller:
    """Which role the page's key has, so it shows controls to admins only."""
    return Caller(name=principal.name, role=principal.role)


# The agent's page: the agent signs in on it; its data comes from the /agent/... API.

#: The files the agent's page loads (besides the dashboard's dom.js and stream.js).
AGENT_ASSETS = {
    "agent.css": "text/css; charset=utf-8",
    "agent.js": "text/javascript; charset=utf-8",
    "agent-panels.js": "text/javascript; charset=utf-8",
}

agent_router = APIRouter(prefix="/agent", include_in_schema=False)


@agent_router.get("")
def agent_page() -> Response:
    headers = {**HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Frame-Options": "DENY"}
    return Response(_read("agent.html"), media_type="text/html; charset=utf-8", headers=headers)


@agent_router.get("/static/{name}")
def agent_asset(name: str) -> Response:
    media_type = AGENT_ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"the agent's page has no file {name!r}")
    return Response(_read(name), media_type=media_type, headers=HEADERS)


__all__ = ["AGENT_ASSETS", "ASSETS", "CONTENT_SECURITY_POLICY", "Caller", "agent_router", "router"]
