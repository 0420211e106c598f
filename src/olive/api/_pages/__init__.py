"""olive's web pages, served by the API app (they use its key and session checks): the live dashboard (``GET /dashboard``)
and the agent's page (``GET /agent``).

Static HTML, CSS and plain JavaScript (``static/``), no build step. The pages
read the REST API with the key or session the user gives them (see
docs/dashboard.md and docs/agents.md).
"""

from olive.api._pages.agent import agent_router
from olive.api._pages.dashboard import router

__all__ = ["agent_router", "router"]
