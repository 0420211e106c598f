"""schemathesis over every operation of the OpenAPI schema, against ``olive serve`` on PostgreSQL.

Each operation gets schemathesis's coverage phase (boundary and invalid
values of every parameter, undocumented methods) and a few random examples,
with an admin key. PostgreSQL is the stricter store (types, lengths, NUL
characters, JSONB), so the full run is here; test_schemathesis_sqlite.py
fuzzes the same operations on SQLite. See schemathesis_support.py for the
checks: no 5xx, and responses that conform to the schema.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from support.fuzzing import examples, schemathesis_config

from .conftest import Keys, ServedApi
from .schemathesis_support import call_and_validate, http, live_api, openapi_schema

__all__ = ["http", "live_api"]  # module fixtures, used by name

MAX_EXAMPLES = examples(4)

#: Undocumented methods are tried with two (of eight): OPTIONS (which must list the
#: documented ones in Allow) and PUT (which olive never serves).
CONFIG = SchemathesisConfig.from_dict(schemathesis_config({"phases": {"coverage": {"unexpected-methods": ["OPTIONS", "PUT"]}}}))

schema = schemathesis.openapi.from_dict(openapi_schema(), config=CONFIG)


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_api(case: Case, live_api: ServedApi, keys: Keys, http: requests.Session) -> None:
    call_and_validate(case, live_api.url, keys.admin, http)
