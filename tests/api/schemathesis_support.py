"""What the schemathesis modules share: the schema, the checks, the server, the call.

The server is ``olive serve`` itself in a child process (so it and the test
share the two cores), on the module's database, with one Asterisk server that
is down: campaigns start but place no call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from schemathesis import Case, checks

from .conftest import ServedApi, closed_port, serve

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


def openapi_schema() -> dict[str, Any]:
    """The schema the server publishes (built from the app; no database needed)."""
    from olive.api import create_app
    from olive.engine import Engine
    from olive.store import make_engine, make_sessionmaker

    sessions = make_sessionmaker(make_engine("sqlite://"))
    schema: dict[str, Any] = create_app(sessions, Engine(sessions, {})).openapi()
    return schema


@pytest.fixture(scope="module")
def live_api(db_url: str) -> Iterator[ServedApi]:
    """Replaces conftest's in-process server for these modules: ``olive serve`` itself."""
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


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One connection pool for the run."""
    with requests.Session() as session:
        yield session


def call_and_validate(case: Case, url: str, key: str, http: requests.Session) -> None:
    _bounded(case)
    case.call_and_validate(
        base_url=url, session=http, headers={"Authorization": f"Bearer {key}"}, timeout=30, checks=_checks(case)
    )


def _checks(case: Case) -> list[Any]:
    """A text body (CSV) is a string whatever its bytes: a "wrong type" for it cannot exist, so a
    body schemathesis generated as invalid JSON types is, on the wire, valid text."""
    if (getattr(case, "media_type", None) or "").startswith("text/"):
        return [c for c in CHECKS if c is not checks.negative_data_rejection]
    return CHECKS


def _bounded(case: Case) -> None:
    """The event stream runs until the client leaves; make valid requests end quickly."""
    if case.path != "/events":
        return
    query = dict(case.query or {})
    value = query.get("timeout_s")
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 86_400):
        query["timeout_s"] = 0.1
    case.query = query


__all__ = ["CHECKS", "call_and_validate", "http", "live_api", "openapi_schema"]
