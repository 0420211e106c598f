"""API keys: every endpoint but the probes needs one; viewers only read."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from olive.store import ApiKey, revoke_api_key, transaction

from .conftest import Keys, LiveApi
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
