"""olive's REST API (FastAPI): see docs/api.md.

``create_app(sessions, engine)`` builds the app; ``olive serve`` runs it with
the engine in one process, the API on its own database pool
(``make_api_sessions``). Each resource is a private package with
``endpoints`` (thin handlers), ``schemas`` and ``service``; ``_routes`` lists
them.
"""

from olive.api._app import MAX_BODY_BYTES, create_app
from olive.api._database import make_api_engine, make_api_sessions
from olive.api._deps import ApiContext, Principal
from olive.api._errors import ErrorBody, ErrorDetail, Forbidden, Unauthorized, responses

__all__ = [
    "MAX_BODY_BYTES",
    "ApiContext",
    "ErrorBody",
    "ErrorDetail",
    "Forbidden",
    "Principal",
    "Unauthorized",
    "create_app",
    "make_api_engine",
    "make_api_sessions",
    "responses",
]
