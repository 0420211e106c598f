"""schemathesis over every operation of the OpenAPI schema, against ``olive serve`` on loopback.

The server is the real command in a child process (so it and the test
share the two cores), on the module's database: SQLite, then PostgreSQL.
Its one Asterisk server is down, so campaigns start but place no call.
Each operation gets schemathesis's coverage phase (boundary and invalid
values of every parameter) and a few random examples, with an admin key.
Every response must be free of 5xx and conform to the schema: status code,
content type, headers and body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, checks
from schemathesis.config import SchemathesisConfig

from .conftest import Keys, ServedApi, closed_port, serve

MAX_EXAMPLES = 5

#: No 5xx; responses conform to the schema (status, content type, headers, body); invalid
#: input is refused; undocumented methods get 405 with Allow; the key is really needed.
#: Not positive_data_acceptance: a request valid by JSON Schema may still be refused with a
#: 422 naming the field (an unknown plan_id, a phone number that does not exist).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.unsupported_method,
    checks.allow_header_conformance,
    checks.missing_required_header,
    checks.ignored_auth,
]


def _schema() -> Any:
    """The schema the server publishes (built from the app; no database needed)."""
    from olive.api import create_app
    from olive.engine import Engine
    from olive.store import make_engine, make_sessionmaker

    sessions = make_sessionmaker(make_engine("sqlite://"))
    return create_app(sessions, Engine(sessions, {})).openapi()


#: Undocumented methods are tried with two (of eight): OPTIONS (which must list the
#: documented ones in Allow) and PUT (which olive never serves).
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"unexpected-methods": ["OPTIONS", "PUT"]}}})

schema = schemathesis.openapi.from_dict(_schema(), config=CONFIG)


@pytest.fixture(scope="module")
def live_api(db_url: str) -> Iterator[ServedApi]:
    """Replaces conftest's in-process server for this module: ``olive serve`` itself."""
    served = serve(
        db_url,
        "--log-level",
        "warning",
        "--asterisk",
        f"ami://olive@127.0.0.1:{closed_port()}/default?secret_env=TEST_AMI_SECRET",
        env={"TEST_AMI_SECRET": "not-a-real-secret"},
    )
    yield served
    served.stop()


def _bounded(case: Case) -> None:
    """The event stream runs until the client leaves; make valid requests end quickly."""
    if case.path != "/events":
        return
    query = dict(case.query or {})
    value = query.get("timeout_s")
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 86_400):
        query["timeout_s"] = 0.1
    case.query = query


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One connection pool for the run (a new TCP connection per request costs more than the request)."""
    with requests.Session() as session:
        yield session


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_api(case: Case, live_api: ServedApi, keys: Keys, http: requests.Session) -> None:
    _bounded(case)
    case.call_and_validate(
        base_url=live_api.url,
        session=http,
        headers={"Authorization": f"Bearer {keys.admin}"},
        timeout=30,
        checks=CHECKS,
    )
