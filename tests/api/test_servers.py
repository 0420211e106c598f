"""Agents' servers and campaigns' servers over HTTP (issue 15): a campaign dials through one or more
Asterisk servers, and each agent belongs to the server where their phone registers."""

from __future__ import annotations

from typing import Any

import httpx

from olive.store import Agent, Campaign, ServerLimits, register_servers, transaction, unit_servers

from .conftest import LiveApi
from .helpers import error, fields, make_agent, make_campaign, ok, set_columns


def pool(live_api: LiveApi, *names: str) -> None:
    """The servers olive serve was configured with (it writes them at start)."""
    with transaction(live_api.sessions) as s:
        register_servers(s, {n: ServerLimits() for n in names})


def units_of(live_api: LiveApi, campaign_id: str) -> list[str]:
    with transaction(live_api.sessions) as s:
        return unit_servers(s, campaign_id)


class TestAgentServer:
    def test_an_agent_has_no_server_unless_given_one(self, admin: httpx.Client) -> None:
        assert make_agent(admin)["server"] is None

    def test_any_well_formed_server_before_any_is_configured(self, admin: httpx.Client) -> None:
        agent = ok(admin.post("/agents", json={"name": "Ann", "interface": "PJSIP/101", "server": "pbx-b"}), 201)
        assert agent["server"] == "pbx-b"
        assert ok(admin.get(f"/agents/{agent['id']}"))["server"] == "pbx-b"

    def test_a_configured_server_only_once_there_are_any(self, admin: httpx.Client, live_api: LiveApi) -> None:
        pool(live_api, "pbx-a", "pbx-b")
        response = error(admin.post("/agents", json={"name": "Ann", "interface": "PJSIP/101", "server": "pbx-c"}), 422)
        assert fields(response) == {"server"}
        assert "pbx-c" in response["message"] and "pbx-a, pbx-b" in response["message"]
        agent = ok(admin.post("/agents", json={"name": "Ann", "interface": "PJSIP/101", "server": "pbx-b"}), 201)
        assert fields(error(admin.patch(f"/agents/{agent['id']}", json={"server": "pbx-c"}), 422)) == {"server"}
        assert ok(admin.patch(f"/agents/{agent['id']}", json={"server": "pbx-a"}))["server"] == "pbx-a"
        assert ok(admin.patch(f"/agents/{agent['id']}", json={"server": None}))["server"] is None

    def test_bad_names(self, admin: httpx.Client) -> None:
        for bad in ("", "pbx b", "pbx\nb", "x" * 81, 7):
            body: dict[str, Any] = {"name": "Ann", "interface": "PJSIP/101", "server": bad}
            assert fields(error(admin.post("/agents", json=body), 422)) == {"server"}

    def test_only_while_logged_out(self, admin: httpx.Client, live_api: LiveApi) -> None:
        agent = make_agent(admin)
        set_columns(live_api.sessions, Agent, agent["id"], state="ready")
        assert fields(error(admin.patch(f"/agents/{agent['id']}", json={"server": "pbx-b"}), 409)) == {"server"}
        assert ok(admin.patch(f"/agents/{agent['id']}", json={"name": "Renamed"}))["server"] is None


class TestCampaignServers:
    def test_a_campaign_dials_through_its_server_alone_by_default(self, admin: httpx.Client, live_api: LiveApi) -> None:
        campaign = make_campaign(admin, server="pbx-a")
        assert campaign["servers"] == ["pbx-a"]
        assert units_of(live_api, campaign["id"]) == []  # a node makes its unit when it runs

    def test_servers_make_one_unit_each_with_the_campaigns_server_first(
        self, admin: httpx.Client, live_api: LiveApi
    ) -> None:
        pool(live_api, "pbx-a", "pbx-b", "pbx-c")
        campaign = make_campaign(admin, servers=["pbx-b", "pbx-a", "pbx-b"])
        assert (campaign["server"], campaign["servers"]) == ("pbx-b", ["pbx-b", "pbx-a"])
        assert units_of(live_api, campaign["id"]) == ["pbx-a", "pbx-b"]
        assert ok(admin.get(f"/campaigns/{campaign['id']}"))["servers"] == ["pbx-b", "pbx-a"]
        listed = ok(admin.get("/campaigns", params={"name": campaign["name"]}))["items"]
        assert [c["servers"] for c in listed] == [["pbx-b", "pbx-a"]]
        changed = ok(admin.patch(f"/campaigns/{campaign['id']}", json={"servers": ["pbx-c", "pbx-b"]}))
        assert (changed["server"], changed["servers"]) == ("pbx-b", ["pbx-b", "pbx-c"])
        assert units_of(live_api, campaign["id"]) == ["pbx-b", "pbx-c"]
        moved = ok(admin.patch(f"/campaigns/{campaign['id']}", json={"server": "pbx-a"}))
        assert (moved["server"], moved["servers"]) == ("pbx-a", ["pbx-a", "pbx-c"])
        assert units_of(live_api, campaign["id"]) == ["pbx-a", "pbx-c"]
        alone = ok(admin.patch(f"/campaigns/{campaign['id']}", json={"servers": ["pbx-a"]}))
        assert alone["servers"] == ["pbx-a"] and units_of(live_api, campaign["id"]) == ["pbx-a"]

    def test_unknown_or_inconsistent_servers_are_refused(self, admin: httpx.Client, live_api: LiveApi) -> None:
        pool(live_api, "pbx-a", "pbx-b")
        response = error(admin.post("/campaigns", json=_body(admin, servers=["pbx-a", "pbx-z"])), 422)
        assert fields(response) == {"servers"} and "pbx-z" in response["message"]
        response = error(admin.post("/campaigns", json=_body(admin, server="pbx-a", servers=["pbx-b"])), 422)
        assert fields(response) == {"servers"}
        assert fields(error(admin.post("/campaigns", json=_body(admin, servers=[])), 422)) == {"servers"}
        assert fields(error(admin.post("/campaigns", json=_body(admin, servers=["pbx a"])), 422)) == {"servers[0]"}

    def test_a_running_campaign_keeps_its_servers(self, admin: httpx.Client, live_api: LiveApi) -> None:
        pool(live_api, "pbx-a", "pbx-b")
        campaign = make_campaign(admin, servers=["pbx-a", "pbx-b"])
        set_columns(live_api.sessions, Campaign, campaign["id"], status="running")
        patch = admin.patch(f"/campaigns/{campaign['id']}", json={"servers": ["pbx-a"]})
        assert fields(error(patch, 409)) == {"servers"}
        assert units_of(live_api, campaign["id"]) == ["pbx-a", "pbx-b"]
        assert ok(admin.patch(f"/campaigns/{campaign['id']}", json={"servers": ["pbx-a", "pbx-b"]}))["status"] == "running"


def _body(admin: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """A campaign's creation body (its plan exists), without creating it."""
    made = make_campaign(admin)
    return {"name": made["name"] + "-2", "queue": "olive-sales", "plan_id": made["plan_id"], **overrides}
