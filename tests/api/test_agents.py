"""/agents over HTTP: CRUD and the shift verbs (login, ready, pause, logout)."""

from __future__ import annotations

import httpx
import pytest

from olive.store import Agent

from .conftest import LiveApi
from .helpers import UNKNOWN_IDS, error, fields, make_agent, make_campaign, ok, set_columns


class TestCreateAgent:
    def test_creates_logged_out(self, admin: httpx.Client) -> None:
        response = admin.post("/agents", json={"name": "Ann", "interface": "PJSIP/101"})
        agent = ok(response, 201)
        assert response.headers["location"] == f"/agents/{agent['id']}"
        assert agent["state"] == "logged_out" and agent["campaign_ids"] == [] and agent["id"].startswith("agent_")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "a", "interface": "101"}, "interface"),
            ({"name": "a", "interface": "PJSIP/1\n01"}, "interface"),
            ({"name": "a", "interface": "PJSIP/1\x0001"}, "interface"),
            ({"name": "", "interface": "PJSIP/1"}, "name"),
            ({"interface": "PJSIP/1"}, "name"),
        ],
    )
    def test_bad_fields(self, admin: httpx.Client, body: dict[str, str], field: str) -> None:
        assert field in fields(error(admin.post("/agents", json=body), 422))

    def test_unique_name_and_interface(self, admin: httpx.Client) -> None:
        make_agent(admin, name="Ann", interface="PJSIP/101")
        assert fields(error(admin.post("/agents", json={"name": "Ann", "interface": "PJSIP/102"}), 409)) == {"name"}
        assert fields(error(admin.post("/agents", json={"name": "Bob", "interface": "PJSIP/101"}), 409)) == {"interface"}


class TestListAgents:
    def test_filters(self, admin: httpx.Client, live_api: LiveApi) -> None:
        campaign = make_campaign(admin, agents=2)
        loose = make_agent(admin, name="zed")
        set_columns(live_api.sessions, Agent, loose["id"], state="paused")
        in_campaign = ok(admin.get("/agents", params={"campaign_id": campaign["id"]}))["items"]
        assert sorted(a["id"] for a in in_campaign) == sorted(campaign["agent_ids"])
        assert all(a["campaign_ids"] == [campaign["id"]] for a in in_campaign)
        assert [a["id"] for a in ok(admin.get("/agents", params={"state": "paused"}))["items"]] == [loose["id"]]
        assert [a["id"] for a in ok(admin.get("/agents", params={"name": "zed"}))["items"]] == [loose["id"]]
        assert ok(admin.get("/agents", params={"limit": 1}))["has_more"]

    def test_bad_filters(self, admin: httpx.Client) -> None:
        error(admin.get("/agents", params={"state": "asleep"}), 422)
        error(admin.get("/agents", params={"name": "a\nb"}), 422)


class TestReadAgent:
    def test_reads(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        agent = make_agent(admin)
        assert ok(viewer.get(f"/agents/{agent['id']}")) == agent

    @pytest.mark.parametrize("agent_id", UNKNOWN_IDS)
    def test_unknown(self, admin: httpx.Client, agent_id: str) -> None:
        error(admin.get(f"/agents/{agent_id}"), 404)


class TestUpdateAgent:
    def test_renames_and_moves(self, admin: httpx.Client) -> None:
        agent = make_agent(admin)
        changed = ok(admin.patch(f"/agents/{agent['id']}", json={"name": "Renamed", "interface": "SIP/9"}))
        assert changed["name"] == "Renamed" and changed["interface"] == "SIP/9"

    def test_interface_only_while_logged_out(self, admin: httpx.Client) -> None:
        agent = make_agent(admin)
        ok(admin.post(f"/agents/{agent['id']}/login"))
        assert fields(error(admin.patch(f"/agents/{agent['id']}", json={"interface": "SIP/9"}), 409)) == {"interface"}
        ok(admin.patch(f"/agents/{agent['id']}", json={"name": "still-ok"}))

    def test_taken_and_bad(self, admin: httpx.Client) -> None:
        other = make_agent(admin)
        agent = make_agent(admin)
        error(admin.patch(f"/agents/{agent['id']}", json={"interface": other["interface"]}), 409)
        error(admin.patch(f"/agents/{agent['id']}", json={"name": None}), 422)
        error(admin.patch(f"/agents/{agent['id']}", json={"state": "ready"}), 422)
        error(admin.patch("/agents/agent_nope", json={"name": "x"}), 404)


class TestDeleteAgent:
    def test_deletes_logged_out(self, admin: httpx.Client) -> None:
        agent = make_agent(admin)
        assert admin.delete(f"/agents/{agent['id']}").status_code == 204
        error(admin.get(f"/agents/{agent['id']}"), 404)

    def test_not_while_logged_in(self, admin: httpx.Client) -> None:
        agent = make_agent(admin)
        ok(admin.post(f"/agents/{agent['id']}/login"))
        error(admin.delete(f"/agents/{agent['id']}"), 409)

    def test_unknown_and_viewer(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        error(admin.delete("/agents/agent_nope"), 404)
        error(viewer.delete(f"/agents/{make_agent(admin)['id']}"), 403)


class TestShift:
    def test_login_pause_ready_logout(self, admin: httpx.Client) -> None:
        agent = make_agent(admin)
        aid = agent["id"]
        logged_in = ok(admin.post(f"/agents/{aid}/login"))
        assert logged_in["state"] == "ready" and logged_in["state_since"] is not None
        paused = ok(admin.post(f"/agents/{aid}/pause", json={"reason": "lunch"}))
        assert paused["state"] == "paused" and paused["pause_reason"] == "lunch"
        ready = ok(admin.post(f"/agents/{aid}/ready"))
        assert ready["state"] == "ready" and ready["pause_reason"] is None
        assert ok(admin.post(f"/agents/{aid}/logout"))["state"] == "logged_out"

    def test_logged_out_agent_cannot_pause_or_be_ready(self, admin: httpx.Client) -> None:
        agent = make_agent(admin)
        assert fields(error(admin.post(f"/agents/{agent['id']}/pause", json={"reason": "x"}), 409)) == {"state"}
        error(admin.post(f"/agents/{agent['id']}/ready"), 409)

    def test_no_logout_on_a_call(self, admin: httpx.Client, live_api: LiveApi) -> None:
        agent = make_agent(admin)
        ok(admin.post(f"/agents/{agent['id']}/login"))
        set_columns(live_api.sessions, Agent, agent["id"], state="on_call")
        error(admin.post(f"/agents/{agent['id']}/logout"), 409)

    @pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "a\r\nAction: Hangup"}, {"reason": "x" * 201}])
    def test_pause_needs_a_plain_reason(self, admin: httpx.Client, body: dict[str, str]) -> None:
        agent = make_agent(admin)
        ok(admin.post(f"/agents/{agent['id']}/login"))
        body_ = error(admin.post(f"/agents/{agent['id']}/pause", json=body), 422)
        assert body_["errors"][0]["location"] == "body"

    @pytest.mark.parametrize("verb", ["login", "ready", "logout"])
    def test_unknown_and_viewer(self, admin: httpx.Client, viewer: httpx.Client, verb: str) -> None:
        error(admin.post(f"/agents/agent_nope/{verb}"), 404)
        error(viewer.post(f"/agents/{make_agent(admin)['id']}/{verb}"), 403)

    def test_pause_unknown(self, admin: httpx.Client) -> None:
        error(admin.post("/agents/agent_nope/pause", json={"reason": "x"}), 404)
