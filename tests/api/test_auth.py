"""API keys: every endpoint but the probes needs one; viewers only read."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from olive.cli import app
from olive.cli._common import console
from olive.store import ApiKey, _apikeys, revoke_api_key, transaction

from .conftest import Keys, LiveApi
from .helpers import error, make_plan, ok

PROBES = {"/health", "/ready"}


def _operations(live_api: LiveApi) -> list[tuple[str, str]]:
    """Every operation of the OpenAPI schema, ids filled with an unknown one."""
    out = []
    for path, item in live_api.app.openapi()["paths"].items():
        if path not in PROBES:
            concrete = re.sub(r"\{[^}]+\}", "x_01J0000000000000000000000Z", path)
            out.extend((method.upper(), concrete) for method in sorted(item))
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
            if method == "GET":
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
        monkeypatch.setattr(_apikeys, "utcnow", lambda: clock[0])
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
        assert body == {"status": "ready", "database": "ok", "engine": "running", "asterisk": {"default": body["asterisk"]["default"]}}
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
                if path in PROBES:
                    assert "security" not in operation
                    continue
                assert operation["security"], (method, path)
                for status in ("401", "403", "422"):
                    ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, status)
                if re.search(r"\{\w+_id\}", path):
                    assert "404" in operation["responses"], (method, path)
