"""Serving the agent's page: ``GET /agent``, its stylesheet and script.

Like the dashboard, the page and its files hold no data and no secret; the
agent signs in on the page and its data comes from the ``/agent/...`` API.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.exceptions import HTTPException

from olive.api._pages.dashboard import CONTENT_SECURITY_POLICY, HEADERS, _read

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


__all__ = ["AGENT_ASSETS", "agent_router"]
