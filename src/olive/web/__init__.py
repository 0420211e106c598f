"""olive's live dashboard: one page served by the API app at ``GET /dashboard``.

Static HTML, CSS and plain JavaScript (``static/``), no build step. The page
reads the REST API with the key the user gives it (see docs/dashboard.md).
"""

from olive.web._routes import router

__all__ = ["router"]
