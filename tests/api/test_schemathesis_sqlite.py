"""schemathesis's random examples for every operation, against ``olive serve`` on SQLite.

The coverage phase runs on PostgreSQL (test_schemathesis.py); here each
operation gets random valid and invalid requests on SQLite, the default
store, whose failure modes differ (integers past 64 bits, no length limits).
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

MAX_EXAMPLES = examples(8)

CONFIG = SchemathesisConfig.from_dict(schemathesis_config({"phases": {"coverage": {"enabled": False}}}))

schema = schemathesis.openapi.from_dict(openapi_schema(), config=CONFIG)


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_api(case: Case, live_api: ServedApi, keys: Keys, http: requests.Session) -> None:
    call_and_validate(case, live_api.url, keys.admin, http)
