"""schemathesis over the agent's own endpoints (``/agent/...``) with an agent's session token.

test_schemathesis.py calls them with an admin key, which they refuse (403)
before reading anything; here a signed-in agent's token reaches their
validation and handlers. Same checks: no 5xx, responses as documented.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from olive.store import Agent, issue_agent_password, open_agent_session, transaction

from .conftest import Keys, ServedApi
from .schemathesis_support import CHECKS, http, live_api, openapi_schema

__all__ = ["http", "live_api"]  # module fixtures, used by name

MAX_EXAMPLES = 4

CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"unexpected-methods": ["OPTIONS", "PUT"]}}})

#: Not the event stream: each of its valid cases streams for a while (test_agent_auth.py checks its input).
schema = schemathesis.openapi.from_dict(openapi_schema(), config=CONFIG).include(path_regex=r"^/agent/").exclude(path="/agent/events")


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


@pytest.fixture
def agent_token(live_api: ServedApi, keys: Keys) -> str:
    """A signed-in agent (after ``keys`` emptied the tables)."""
    with transaction(live_api.sessions) as session:
        agent = Agent(name="fuzzed agent", interface="PJSIP/990")
        session.add(agent)
        session.flush()
        password = issue_agent_password(session, agent.id)
        opened = open_agent_session(session, agent.id, password)
        assert opened is not None
        return opened[1]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_agent_api(case: Case, live_api: ServedApi, agent_token: str, http: requests.Session) -> None:
    case.call_and_validate(
        base_url=live_api.url, session=http, headers={"Authorization": f"Bearer {agent_token}"}, timeout=30, checks=CHECKS
    )
