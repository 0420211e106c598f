"""API keys: every endpoint but the probes needs one; viewers only read."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine as SqlEngine
from typer.testing import CliRunner

from olive.api._throttle import LIMIT, AuthThrottle, TooManyRequests
from olive.cli import app
from olive.cli._common import console
from olive.store import (
    ApiKey,
    _apikeys_repo,
    create_api_key,
    make_sessionmaker,
    revoke_api_key,
    transaction,
)

from .conftest import Keys, LiveApi, start_live_api, stop_live_api
from .helpers import error, make_plan, ok

PROBES = {"/health", "/ready"}
#: Signing in as an agent needs no key: it is how an agent gets a session (tests/api/test_agent_auth.py).
SIGN_IN = ("POST", "/agent/session")


def _operations(live_api: LiveApi) -> list[tuple[str, str]]:
    """Every operation of the OpenAPI schema, ids filled with an unknown one."""
    out = []
    for path, item in live_api.app.openapi()["paths"].items():
        if path not in PROBES:
            concrete = re.sub(r"\{[^}]+\}", "x_01J0000000000000000000000Z", path)
            out.extend((method.upper(), concrete) for method in sorted(item) if (method.upper(), path) != SIGN_IN)
    return out


class TestKeys:
    def test_every_operation_needs_a_key(self, live_api: LiveApi, anon: httpx.Client) -> None:
        operations = _operations(live_api)
        assert len(operations) >= 30
        for method, path in operations:
            response = anon.request(method, path, params={"timeout_s": 0.1})
            body = error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"] == "Bearer", (method, path)
            assert "Bearer" in body["message"]

    def test_viewers_only_read(self, live_api: LiveApi, viewer: httpx.Client) -> None:
        for method, path in _operations(live_api):
            response = viewer.request(method, path, params={"timeout_s": 0.1})
            if path.startswith("/agent/"):  # an agent's own endpoints take an agent's session, not a key
                error(response, 403, "forbidden")
            elif method == "GET":
                assert response.status_code in (200, 404, 422), (method, path, response.text)
            else:
                error(response, 403, "forbidden")

    @pytest.mark.parametrize(
        "headers",
        [
            {"Authorization": "Bearer olive_not-a-key-at-all-0000000000"},
            {"Authorization": "Bearer nonsense"},
            {"Authorization": "Basic b2xpdmU6b2xpdmU="},
            {"X-API-Key": "olive_wrong"},
            {"Authorization": "Bearer " + "olive_" + "a" * 500},
        ],
    )
    def test_wrong_keys(self, anon: httpx.Client, headers: dict[str, str]) -> None:
        response = anon.get("/plans", headers=headers)
        error(response, 401)
        assert headers[next(iter(headers))].split()[-1] not in response.text

    def test_x_api_key_header(self, anon: httpx.Client, keys: Keys) -> None:
        assert ok(anon.get("/plans", headers={"X-API-Key": keys.viewer}))["total"] == 0
        ok(anon.post("/plans", headers={"X-API-Key": keys.admin}, json={"name": "x", "channel_template": "PJSIP/{number}@t"}), 201)

    def test_revoked_key(self, live_api: LiveApi, keys: Keys, admin: httpx.Client) -> None:
        ok(admin.get("/plans"))
        with transaction(live_api.sessions) as session:
            key = session.query(ApiKey).filter_by(role="admin").one()
            assert key.last_used_at is not None
            assert revoke_api_key(session, key.id)
        error(admin.get("/plans"), 401)

    def test_last_used_is_the_last_request(
        self, live_api: LiveApi, keys: Keys, viewer: httpx.Client, db_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # issue 13: `olive apikey list` showed the first of several requests a minute apart or less.
        clock = [datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)]
        monkeypatch.setattr(_apikeys_repo, "utcnow", lambda: clock[0])
        for seconds in (0, 5, 50):
            clock[0] = datetime(2026, 3, 2, 9, 0, seconds, tzinfo=UTC)
            ok(viewer.get("/plans"))
        with transaction(live_api.sessions) as session:
            key = session.query(ApiKey).filter_by(role="viewer").one()
            assert key.last_used_at == datetime(2026, 3, 2, 9, 0, 50, tzinfo=UTC)
        monkeypatch.setattr(console, "width", 200)
        listed = CliRunner().invoke(app, ["apikey", "list", "--database-url", db_url])
        assert "2026-03-02T09:00:50Z" in listed.stdout, listed.stdout

    def test_401_comes_before_validation_and_lookup(self, anon: httpx.Client) -> None:
        error(anon.post("/plans", json={"nonsense": True}), 401)
        error(anon.get("/calls", params={"limit": -5}), 401)
        error(anon.get("/plans/plan_nope"), 401)

    def test_403_comes_before_validation_and_lookup(self, viewer: httpx.Client) -> None:
        error(viewer.post("/plans", json={"nonsense": True}), 403)
        error(viewer.delete("/plans/plan_nope"), 403)

    def test_no_secret_in_output(self, admin: httpx.Client, keys: Keys, live_api: LiveApi) -> None:
        plan = make_plan(admin)
        for response in (admin.get(f"/plans/{plan['id']}"), admin.get("/openapi.json"), admin.get("/ready")):
            assert keys.admin not in response.text and keys.viewer not in response.text
            assert "not-a-real-secret" not in response.text  # the module's AMI secret


class TestProbes:
    def test_health_needs_no_key(self, anon: httpx.Client) -> None:
        assert ok(anon.get("/health")) == {"status": "ok"}

    def test_ready_reports_database_engine_and_links(self, anon: httpx.Client) -> None:
        body: dict[str, Any] = ok(anon.get("/ready"))
        assert body == {
            "status": "ready",
            "database": "ok",
            "engine": "running",
            "asterisk": {"default": body["asterisk"]["default"]},
            "health": {
                "tick_failures": 0,
                "tick_failures_in_a_row": 0,
                "last_tick_error": None,
                "changes_set_aside": 0,
                "events": {"default": {"malformed": 0, "failed": 0, "timestamps_ignored": 0}},
            },
            "dialing_lease": None,
        }
        assert body["asterisk"]["default"] in ("disconnected", "reconciling")

    def test_docs_and_schema_need_no_key(self, anon: httpx.Client) -> None:
        schema = ok(anon.get("/openapi.json"))
        assert schema["openapi"].startswith("3.")
        assert "swagger" in anon.get("/docs").text.lower()

    def test_docs_work_offline(self, anon: httpx.Client) -> None:
        # issue 13: /docs loaded Swagger UI from a CDN, blank on an offline call-centre network.
        page = anon.get("/docs").text
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            response = anon.get(asset)
            assert response.status_code == 200 and len(response.content) > 1000, asset


class TestSchema:
    def test_every_operation_declares_auth_and_errors(self, anon: httpx.Client) -> None:
        schema = ok(anon.get("/openapi.json"))
        for path, item in schema["paths"].items():
            for method, operation in item.items():
                if path in PROBES or (method.upper(), path) == SIGN_IN:
                    assert "security" not in operation
                    continue
                assert operation["security"], (method, path)
                for status in ("401", "403", "422"):
                    ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, status)
                if re.search(r"\{\w+_id\}", path):
                    assert "404" in operation["responses"], (method, path)


class TestWrongKeyFlood:
    """Issue 10: a flood of wrong keys is rate-limited (429, Retry-After) and logged, without the key."""

    def test_a_flood_gets_429_and_one_log_line(
        self, db_clean: SqlEngine, keys_for_flood: tuple[LiveApi, str], caplog: pytest.LogCaptureFixture
    ) -> None:
        api, good = keys_for_flood
        wrong = "olive_" + "w" * 43
        with caplog.at_level(logging.WARNING, "olive.api"), api.client(wrong) as client:
            for _ in range(LIMIT):
                error(client.get("/plans"), 401, "unauthorized")
            flooded = client.get("/plans")
            body = error(flooded, 429, "too_many_requests")
            assert 1 <= int(flooded.headers["retry-after"]) <= 60
            assert "too many wrong API keys" in body["message"]
        with api.client(good) as client:
            assert client.get("/plans").status_code == 429, "the address waits, whatever key it sends"
        lines = [r.getMessage() for r in caplog.records if "wrong API keys" in r.getMessage()]
        assert len(lines) == 1 and "127.0.0.1" in lines[0]
        assert wrong not in caplog.text and good not in caplog.text

    def test_a_few_mistakes_are_not_a_flood(self, db_clean: SqlEngine, keys_for_flood: tuple[LiveApi, str]) -> None:
        api, good = keys_for_flood
        with api.client("olive_" + "w" * 43) as client:
            for _ in range(LIMIT - 1):
                error(client.get("/plans"), 401)
        with api.client(good) as client:
            assert client.get("/plans").status_code == 200

    def test_the_window_slides(self) -> None:
        now = [0.0]
        throttle = AuthThrottle(limit=3, window_s=60, clock=lambda: now[0])
        for t in (0.0, 10.0, 20.0):
            now[0] = t
            throttle.check("a")
            throttle.failed("a")
        with pytest.raises(TooManyRequests) as refused:
            throttle.check("a")
        assert refused.value.headers == {"Retry-After": "40"}
        throttle.check("b")  # per address
        now[0] = 60.0  # the first failure aged out
        throttle.check("a")


@pytest.fixture
def keys_for_flood(db_clean: SqlEngine) -> Iterator[tuple[LiveApi, str]]:
    """Its own server: a flood must not lock the module's shared one."""
    sessions = make_sessionmaker(db_clean)
    with transaction(sessions) as session:
        _, good = create_api_key(session, "flood test", "viewer")
    api = start_live_api(sessions)
    try:
        yield api, good
    finally:
        stop_live_api(api)
