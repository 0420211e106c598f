"""/plans over HTTP: success and error paths."""

from __future__ import annotations

import httpx
import pytest

from .conftest import LiveApi
from .helpers import UNKNOWN_IDS, error, fields, make_campaign, make_plan, ok, unique


class TestCreatePlan:
    def test_creates_with_defaults(self, admin: httpx.Client) -> None:
        response = admin.post("/plans", json={"name": "evening", "channel_template": "PJSIP/{number}@trunk"})
        plan = ok(response, 201)
        assert response.headers["location"] == f"/plans/{plan['id']}"
        assert plan["id"].startswith("plan_")
        assert plan["dial_mode"] == "progressive" and plan["dial_timeout_s"] == 30
        assert plan["retry_rules"]["BUSY"] == {"max_attempts": 3, "delay_s": 300}
        assert plan["created_at"].endswith("Z") or "+00:00" in plan["created_at"]

    def test_names_each_bad_field(self, admin: httpx.Client) -> None:
        body = error(
            admin.post(
                "/plans",
                json={
                    "name": "x",
                    "channel_template": "no-number",
                    "dial_timeout_s": 0,
                    "retry_rules": {"BUSY": {"max_attempts": 1, "delay_s": -1}},
                    "surprise": 1,
                },
            ),
            422,
            "invalid",
        )
        assert {"channel_template", "dial_timeout_s", "retry_rules.BUSY.delay_s", "surprise"} <= fields(body)
        assert all(e["location"] == "body" for e in body["errors"])

    def test_drop_message_needed_for_message_action(self, admin: httpx.Client) -> None:
        body = error(admin.post("/plans", json={"name": "d", "channel_template": "PJSIP/{number}@t", "drop_action": "message"}), 422)
        assert "drop_message" in body["errors"][0]["reason"]

    def test_not_json(self, admin: httpx.Client) -> None:
        body = error(admin.post("/plans", content=b"{", headers={"content-type": "application/json"}), 422)
        assert "JSON" in body["errors"][0]["reason"]

    def test_duplicate_name_conflicts(self, admin: httpx.Client) -> None:
        make_plan(admin, name="twice")
        body = error(admin.post("/plans", json={"name": "twice", "channel_template": "PJSIP/{number}@t"}), 409, "conflict")
        assert fields(body) == {"name"}

    def test_viewer_cannot(self, viewer: httpx.Client) -> None:
        error(viewer.post("/plans", json={"name": "v", "channel_template": "PJSIP/{number}@t"}), 403, "forbidden")


class TestListPlans:
    def test_pages(self, admin: httpx.Client) -> None:
        made = [make_plan(admin)["id"] for _ in range(3)]
        first = ok(admin.get("/plans", params={"limit": 2}))
        assert first["total"] == 3 and first["has_more"] and len(first["items"]) == 2
        second = ok(admin.get("/plans", params={"limit": 2, "offset": 2}))
        assert not second["has_more"]
        assert [p["id"] for p in first["items"] + second["items"]] == made

    def test_filters(self, admin: httpx.Client) -> None:
        make_plan(admin, name="alpha")
        make_plan(admin, name="beta", dial_mode="power")
        assert [p["name"] for p in ok(admin.get("/plans", params={"name": "alpha"}))["items"]] == ["alpha"]
        assert [p["name"] for p in ok(admin.get("/plans", params={"dial_mode": "power"}))["items"]] == ["beta"]

    @pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"dial_mode": "warp"}])
    def test_bad_query(self, admin: httpx.Client, params: dict[str, object]) -> None:
        body = error(admin.get("/plans", params=params), 422)
        assert body["errors"][0]["location"] == "query"
        assert body["errors"][0]["field"] == next(iter(params))

    def test_viewer_reads(self, viewer: httpx.Client) -> None:
        assert ok(viewer.get("/plans"))["total"] == 0


class TestReadPlan:
    def test_reads(self, admin: httpx.Client) -> None:
        plan = make_plan(admin)
        assert ok(admin.get(f"/plans/{plan['id']}")) == plan

    @pytest.mark.parametrize("plan_id", UNKNOWN_IDS)
    def test_unknown(self, admin: httpx.Client, plan_id: str) -> None:
        error(admin.get(f"/plans/{plan_id}"), 404, "not_found")


class TestUpdatePlan:
    def test_changes_only_what_is_sent(self, admin: httpx.Client) -> None:
        plan = make_plan(admin, caller_id='"Acme" <2015550100>')
        changed = ok(admin.patch(f"/plans/{plan['id']}", json={"dial_timeout_s": 25, "caller_id": None}))
        assert changed["dial_timeout_s"] == 25 and changed["caller_id"] is None
        assert changed["channel_template"] == plan["channel_template"]
        assert changed["updated_at"] >= plan["updated_at"]

    def test_the_stored_context_survives_a_change_to_agentless_and_back(self, admin: httpx.Client) -> None:
        # The snapshot names the context calls go to (olive-broadcast, olive-amd); a PATCH must
        # not store that as the plan's own, or turning the mode off again would leave it.
        plan = make_plan(admin)
        agentless = ok(admin.patch(f"/plans/{plan['id']}", json={"dial_mode": "agentless", "message": "acme/offer"}))
        assert agentless["context"] == "olive-dialer" and agentless["ivr_optout_key"] == "9"
        ok(admin.patch(f"/plans/{plan['id']}", json={"max_concurrent": 7}))
        back = ok(admin.patch(f"/plans/{plan['id']}", json={"dial_mode": "progressive"}))
        assert back["context"] == "olive-dialer"
        with_amd = ok(admin.patch(f"/plans/{plan['id']}", json={"amd": "hangup"}))
        ok(admin.patch(f"/plans/{plan['id']}", json={"max_concurrent": 8}))
        assert ok(admin.patch(f"/plans/{plan['id']}", json={"amd": "off"}))["context"] == with_amd["context"] == "olive-dialer"

    def test_agentless_needs_a_message(self, admin: httpx.Client) -> None:
        plan = make_plan(admin)
        body = error(admin.patch(f"/plans/{plan['id']}", json={"dial_mode": "agentless"}), 422)
        assert "message" in body["errors"][0]["reason"]

    def test_null_for_a_required_field(self, admin: httpx.Client) -> None:
        plan = make_plan(admin)
        body = error(admin.patch(f"/plans/{plan['id']}", json={"dial_timeout_s": None}), 422)
        assert fields(body) == {"dial_timeout_s"}

    def test_checks_the_merged_plan(self, admin: httpx.Client) -> None:
        plan = make_plan(admin)
        body = error(admin.patch(f"/plans/{plan['id']}", json={"drop_action": "message"}), 422)
        assert "drop_message" in body["errors"][0]["reason"]
        ok(admin.patch(f"/plans/{plan['id']}", json={"drop_action": "message", "drop_message": "sorry"}))

    def test_rename_to_a_taken_name(self, admin: httpx.Client) -> None:
        make_plan(admin, name="taken")
        plan = make_plan(admin)
        error(admin.patch(f"/plans/{plan['id']}", json={"name": "taken"}), 409)

    def test_profile_of_campaigns_using_it(self, admin: httpx.Client) -> None:
        plan = make_plan(admin)
        make_campaign(admin, plan=plan, compliance_profile="us-tsr")
        body = error(admin.patch(f"/plans/{plan['id']}", json={"dial_timeout_s": 10}), 409, "conflict")
        assert "15" in body["message"]

    def test_short_ring_allowed_without_a_profile(self, admin: httpx.Client) -> None:
        plan = make_plan(admin)
        make_campaign(admin, plan=plan, compliance_profile="none")
        assert ok(admin.patch(f"/plans/{plan['id']}", json={"dial_timeout_s": 10}))["dial_timeout_s"] == 10

    def test_unknown(self, admin: httpx.Client) -> None:
        error(admin.patch(f"/plans/{UNKNOWN_IDS[0]}", json={"dial_timeout_s": 20}), 404)

    def test_viewer_cannot(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        plan = make_plan(admin)
        error(viewer.patch(f"/plans/{plan['id']}", json={"dial_timeout_s": 20}), 403)


class TestDeletePlan:
    def test_deletes(self, admin: httpx.Client) -> None:
        plan = make_plan(admin)
        response = admin.delete(f"/plans/{plan['id']}")
        assert response.status_code == 204 and response.content == b""
        error(admin.get(f"/plans/{plan['id']}"), 404)

    def test_in_use(self, admin: httpx.Client) -> None:
        plan = make_plan(admin)
        campaign = make_campaign(admin, plan=plan)
        body = error(admin.delete(f"/plans/{plan['id']}"), 409, "conflict")
        assert campaign["name"] in body["message"]

    def test_in_use_by_a_running_campaign(self, admin: httpx.Client) -> None:
        plan = make_plan(admin)
        campaign = make_campaign(admin, plan=plan)
        ok(admin.post(f"/campaigns/{campaign['id']}/start"))
        body = error(admin.delete(f"/plans/{plan['id']}"), 409)
        assert "running" in body["message"]

    def test_unknown(self, admin: httpx.Client) -> None:
        error(admin.delete(f"/plans/{unique('plan_x')}"), 404)


class TestTheEngineSeesChanges:
    """A running campaign's engine re-reads plans, campaigns and agents on its next tick
    after a change is committed, not up to a refresh period later (docs/api.md)."""

    @pytest.fixture
    def asked(self, live_api: LiveApi, monkeypatch: pytest.MonkeyPatch) -> list[int]:
        calls: list[int] = []
        monkeypatch.setattr(live_api.engine, "invalidate", lambda: calls.append(1))
        return calls

    def test_a_changed_plan_is_re_read(self, admin: httpx.Client, asked: list[int]) -> None:
        plan = make_plan(admin)
        asked.clear()
        ok(admin.patch(f"/plans/{plan['id']}", json={"dial_timeout_s": 45}))
        assert asked, "the engine was not told the plan changed"

    def test_reads_and_refused_changes_do_not_ask(self, admin: httpx.Client, asked: list[int]) -> None:
        plan = make_plan(admin)
        asked.clear()
        ok(admin.get(f"/plans/{plan['id']}"))
        ok(admin.get("/plans"))
        error(admin.patch(f"/plans/{plan['id']}", json={"dial_timeout_s": -1}), 422)
        assert not asked
