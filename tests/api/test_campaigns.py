"""/campaigns over HTTP: CRUD, the start/pause/resume/stop verbs, and stats.

The module's engine has one Asterisk server, ``default``, which is down:
campaigns start and wait for it (their ``note`` says so); no call is placed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from olive.store import Campaign

from .conftest import LiveApi
from .helpers import (
    UNKNOWN_IDS,
    error,
    fields,
    insert_call,
    make_agent,
    make_campaign,
    make_list,
    make_plan,
    ok,
    set_columns,
    unique,
)


def _body(admin: httpx.Client, **overrides: object) -> dict[str, object]:
    return {"name": unique("c"), "queue": "olive-sales", "plan_id": make_plan(admin)["id"], **overrides}


class TestCreateCampaign:
    def test_creates_stopped(self, admin: httpx.Client) -> None:
        dial_list, agent = make_list(admin), make_agent(admin)
        response = admin.post("/campaigns", json=_body(admin, dial_list_ids=[dial_list["id"]], agent_ids=[agent["id"]]))
        campaign = ok(response, 201)
        assert response.headers["location"] == f"/campaigns/{campaign['id']}"
        assert campaign["status"] == "stopped" and campaign["started_at"] is None
        assert campaign["dial_list_ids"] == [dial_list["id"]] and campaign["agent_ids"] == [agent["id"]]
        assert campaign["compliance_profile"] == "us-tsr" and campaign["server"] == "default"

    def test_unknown_references_name_the_field(self, admin: httpx.Client) -> None:
        body = error(admin.post("/campaigns", json=_body(admin, plan_id="plan_nope")), 422)
        assert fields(body) == {"plan_id"}
        dial_list = make_list(admin)
        body = error(admin.post("/campaigns", json=_body(admin, dial_list_ids=[dial_list["id"], "list_nope"])), 422)
        assert fields(body) == {"dial_list_ids[1]"}
        body = error(admin.post("/campaigns", json=_body(admin, agent_ids=["agent_\x00"])), 422)
        assert fields(body) == {"agent_ids[0]"}

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"queue": "has space"}, "queue"),
            ({"default_region": "ZZ"}, "default_region"),
            ({"compliance_profile": "lax"}, "compliance_profile"),
            ({"schedule": {"x": float("inf")}}, None),
            ({"name": ""}, "name"),
        ],
    )
    def test_bad_fields(self, admin: httpx.Client, overrides: dict[str, object], field: str | None) -> None:
        if overrides.get("schedule"):
            response = admin.post(
                "/campaigns",
                content=b'{"name":"s","queue":"q","plan_id":"p","schedule":{"x":Infinity}}',
                headers={"content-type": "application/json"},
            )
            error(response, 422)
            return
        body = error(admin.post("/campaigns", json=_body(admin, **overrides)), 422)
        assert field in fields(body)

    def test_duplicate_name(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        error(admin.post("/campaigns", json=_body(admin, name=campaign["name"])), 409)

    def test_plan_must_suit_the_profile(self, admin: httpx.Client) -> None:
        short = make_plan(admin, dial_timeout_s=10)
        body = error(admin.post("/campaigns", json=_body(admin, plan_id=short["id"])), 409, "conflict")
        assert fields(body) == {"plan_id"} and "15" in body["message"]
        created = ok(admin.post("/campaigns", json=_body(admin, plan_id=short["id"], compliance_profile="none")), 201)
        assert created["compliance_profile"] == "none"


class TestListCampaigns:
    def test_filters_and_pages(self, admin: httpx.Client, live_api: LiveApi) -> None:
        plan = make_plan(admin)
        a = make_campaign(admin, plan=plan)
        b = make_campaign(admin)
        set_columns(live_api.sessions, Campaign, b["id"], status="paused")
        assert [c["id"] for c in ok(admin.get("/campaigns"))["items"]] == [a["id"], b["id"]]
        assert [c["id"] for c in ok(admin.get("/campaigns", params={"status": "paused"}))["items"]] == [b["id"]]
        assert [c["id"] for c in ok(admin.get("/campaigns", params={"plan_id": plan["id"]}))["items"]] == [a["id"]]
        assert [c["id"] for c in ok(admin.get("/campaigns", params={"name": b["name"]}))["items"]] == [b["id"]]
        page = ok(admin.get("/campaigns", params={"limit": 1, "offset": 1}))
        assert page["total"] == 2 and [c["id"] for c in page["items"]] == [b["id"]] and not page["has_more"]

    def test_bad_filter(self, admin: httpx.Client) -> None:
        error(admin.get("/campaigns", params={"plan_id": "bad id!"}), 422)
        error(admin.get("/campaigns", params={"status": "asleep"}), 422)


class TestReadCampaign:
    def test_reads(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        campaign = make_campaign(admin)
        assert ok(viewer.get(f"/campaigns/{campaign['id']}")) == campaign

    @pytest.mark.parametrize("campaign_id", UNKNOWN_IDS)
    def test_unknown(self, admin: httpx.Client, campaign_id: str) -> None:
        error(admin.get(f"/campaigns/{campaign_id}"), 404)


class TestUpdateCampaign:
    def test_replaces_lists_and_agents(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        other_list, other_agent = make_list(admin), make_agent(admin)
        changed = ok(
            admin.patch(
                f"/campaigns/{campaign['id']}",
                json={"dial_list_ids": [other_list["id"]], "agent_ids": [other_agent["id"]], "queue": "olive-2"},
            )
        )
        assert changed["dial_list_ids"] == [other_list["id"]] and changed["agent_ids"] == [other_agent["id"]]
        assert changed["queue"] == "olive-2" and changed["plan_id"] == campaign["plan_id"]

    def test_running_campaign_gets_a_new_plan(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        ok(admin.post(f"/campaigns/{campaign['id']}/start"))
        plan = make_plan(admin, dial_timeout_s=40)
        changed = ok(admin.patch(f"/campaigns/{campaign['id']}", json={"plan_id": plan["id"]}))
        assert changed["plan_id"] == plan["id"] and changed["status"] == "running"

    def test_running_campaign_keeps_queue_and_server(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        ok(admin.post(f"/campaigns/{campaign['id']}/start"))
        assert fields(error(admin.patch(f"/campaigns/{campaign['id']}", json={"queue": "other"}), 409)) == {"queue"}
        assert fields(error(admin.patch(f"/campaigns/{campaign['id']}", json={"server": "b"}), 409)) == {"server"}

    def test_profile_checked_against_plan(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin, plan=make_plan(admin, dial_timeout_s=10), compliance_profile="none")
        error(admin.patch(f"/campaigns/{campaign['id']}", json={"compliance_profile": "uk-ofcom"}), 409)

    def test_bad_and_unknown(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        assert fields(error(admin.patch(f"/campaigns/{campaign['id']}", json={"plan_id": None}), 422)) == {"plan_id"}
        assert fields(error(admin.patch(f"/campaigns/{campaign['id']}", json={"status": "running"}), 422)) == {"status"}
        error(admin.patch(f"/campaigns/{UNKNOWN_IDS[0]}", json={"queue": "q"}), 404)


class TestDeleteCampaign:
    def test_deletes_stopped(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        assert admin.delete(f"/campaigns/{campaign['id']}").status_code == 204
        error(admin.get(f"/campaigns/{campaign['id']}"), 404)

    def test_not_while_running(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        ok(admin.post(f"/campaigns/{campaign['id']}/start"))
        error(admin.delete(f"/campaigns/{campaign['id']}"), 409)

    def test_not_once_it_has_calls(self, admin: httpx.Client, live_api: LiveApi) -> None:
        campaign = make_campaign(admin)
        insert_call(live_api.sessions, campaign["id"], ended_at=datetime.now(UTC), state="ended", outcome="BUSY")
        body = error(admin.delete(f"/campaigns/{campaign['id']}"), 409)
        assert "call record" in body["message"]

    def test_unknown(self, admin: httpx.Client) -> None:
        error(admin.delete("/campaigns/camp_nope"), 404)


class TestStartCampaign:
    def test_starts_and_waits_for_asterisk(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        started = ok(admin.post(f"/campaigns/{campaign['id']}/start"))
        assert started["status"] == "running" and started["started_at"] is not None
        assert "waiting for Asterisk default" in (started["note"] or "")
        assert ok(admin.post(f"/campaigns/{campaign['id']}/start"))["status"] == "running"

    def test_no_agents(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin, agents=0)
        body = error(admin.post(f"/campaigns/{campaign['id']}/start"), 409, "conflict")
        assert fields(body) == {"agents"}

    def test_no_dial_list(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        ok(admin.patch(f"/campaigns/{campaign['id']}", json={"dial_list_ids": []}))
        assert fields(error(admin.post(f"/campaigns/{campaign['id']}/start"), 409)) == {"dial_lists"}

    def test_unknown_server(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin, server="elsewhere")
        body = error(admin.post(f"/campaigns/{campaign['id']}/start"), 409)
        assert fields(body) == {"server"} and "elsewhere" in body["message"]

    def test_short_ring_under_a_profile(self, admin: httpx.Client, live_api: LiveApi) -> None:
        from olive.store import Plan

        plan = make_plan(admin)
        campaign = make_campaign(admin, plan=plan)
        set_columns(live_api.sessions, Plan, plan["id"], dial_timeout_s=10)  # changed behind the API's back
        body = error(admin.post(f"/campaigns/{campaign['id']}/start"), 409)
        assert fields(body) == {"plan"}

    def test_unknown_and_viewer(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        error(admin.post("/campaigns/camp_nope/start"), 404)
        campaign = make_campaign(admin)
        error(viewer.post(f"/campaigns/{campaign['id']}/start"), 403)


class TestPauseResumeStop:
    def test_life_cycle(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        cid = campaign["id"]
        error(admin.post(f"/campaigns/{cid}/pause"), 409)
        error(admin.post(f"/campaigns/{cid}/resume"), 409)
        ok(admin.post(f"/campaigns/{cid}/start"))
        assert ok(admin.post(f"/campaigns/{cid}/pause"))["status"] == "paused"
        assert ok(admin.post(f"/campaigns/{cid}/pause"))["status"] == "paused"
        assert ok(admin.post(f"/campaigns/{cid}/resume"))["status"] == "running"
        stopped = ok(admin.post(f"/campaigns/{cid}/stop"))
        assert stopped == {"campaign": stopped["campaign"], "calls_hung_up": 0}
        assert stopped["campaign"]["status"] == "stopped" and stopped["campaign"]["note"] is None
        assert ok(admin.post(f"/campaigns/{cid}/stop", params={"force": "true"}))["calls_hung_up"] == 0

    @pytest.mark.parametrize("verb", ["pause", "resume", "stop"])
    def test_unknown_and_viewer(self, admin: httpx.Client, viewer: httpx.Client, verb: str) -> None:
        error(admin.post(f"/campaigns/camp_nope/{verb}"), 404)
        campaign = make_campaign(admin)
        error(viewer.post(f"/campaigns/{campaign['id']}/{verb}"), 403)

    def test_bad_force(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        assert fields(error(admin.post(f"/campaigns/{campaign['id']}/stop", params={"force": "maybe"}), 422)) == {"force"}


class TestCampaignStats:
    def test_figures_from_the_store(self, admin: httpx.Client, viewer: httpx.Client, live_api: LiveApi) -> None:
        campaign = make_campaign(admin, contacts=3)
        now = datetime.now(UTC)
        for outcome in ("CONNECTED", "CONNECTED", "ABANDONED", "BUSY"):
            insert_call(live_api.sessions, campaign["id"], state="ended", outcome=outcome, ended_at=now)
        stats = ok(viewer.get(f"/campaigns/{campaign['id']}/stats"))
        assert stats["outcomes"] == {"CONNECTED": 2, "ABANDONED": 1, "BUSY": 1} and stats["calls"] == 4
        assert stats["contacts_remaining"] == 3 and stats["contacts"] == {"pending": 3}
        for window in ("campaign", "24h", "30d"):
            assert stats["abandon"][window] == {"live_answers": 3, "abandoned": 1, "rate": pytest.approx(1 / 3)}
        assert stats["occupancy"] is None and stats["dial_level"] is None  # never run in this process
        assert [a["id"] for a in stats["agents"]] == campaign["agent_ids"]
        assert datetime.fromisoformat(stats["at"]).tzinfo is not None

    def test_running_campaign_has_pacer_figures(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin, plan=make_plan(admin, dial_mode="power"))
        ok(admin.post(f"/campaigns/{campaign['id']}/start"))
        stats = ok(admin.get(f"/campaigns/{campaign['id']}/stats"))
        assert stats["pacer"]["mode"] == "power" and stats["status"] == "running"
        assert "waiting for Asterisk" in stats["note"]

    def test_unknown(self, admin: httpx.Client) -> None:
        error(admin.get("/campaigns/camp_nope/stats"), 404)
