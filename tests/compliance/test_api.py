"""The compliance API on a live server: DNC, dispositions, callbacks, eligibility, exports, schedules.

The server's engine reads the real clock, so calling-hours cases pick a time
zone where it is night (or run under a round-the-clock schedule).
"""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from tests.api.conftest import LiveApi
from tests.api.helpers import (
    NUMBERS,
    add_contacts,
    error,
    fields,
    insert_call,
    make_campaign,
    ok,
    set_columns,
)

from olive.store import Campaign, from_epoch

ALWAYS = {"start": "00:00", "end": "24:00"}


def night_zone() -> str:
    """A zone where it is now between 01:00 and 05:00."""
    now = datetime.now(UTC)
    for offset in range(-12, 15):
        name = f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "Etc/GMT"
        if 1 <= now.astimezone(ZoneInfo(name)).hour < 5:
            return name
    raise AssertionError("no night zone")


def running(live_api: LiveApi, client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    campaign = make_campaign(client, **overrides)
    set_columns(live_api.sessions, Campaign, campaign["id"], status="running")
    return campaign


def contacts_of(client: httpx.Client, campaign: dict[str, Any]) -> list[dict[str, Any]]:
    page = ok(client.get(f"/dial-lists/{campaign['dial_list_ids'][0]}/contacts"))
    return list(page["items"])


class TestDnc:
    def test_add_list_check_delete(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        first = ok(admin.post("/dnc", json={"number": "(201) 555-0100", "note": "asked"}), 201)
        assert (first["number"], first["campaign_id"], first["source"], first["note"]) == ("+12015550100", None, "api", "asked")
        again = ok(admin.post("/dnc", json={"number": "+12015550100"}), 200)
        assert again["id"] == first["id"]
        campaign = make_campaign(admin)
        scoped = ok(admin.post("/dnc", json={"number": "2015550100", "campaign_id": campaign["id"]}), 201)
        assert scoped["campaign_id"] == campaign["id"]
        assert ok(viewer.get("/dnc"))["total"] == 2
        assert [e["id"] for e in ok(viewer.get("/dnc", params={"scope": "global"}))["items"]] == [first["id"]]
        assert [e["id"] for e in ok(viewer.get("/dnc", params={"campaign_id": campaign["id"]}))["items"]] == [scoped["id"]]
        lookup = ok(viewer.get("/dnc/check", params={"number": "201-555-0100"}))
        assert lookup == {"number": "+12015550100", "blocked": True, "list": "global", "entry_id": first["id"]}
        assert ok(viewer.get("/dnc/check", params={"number": "+12015550199"}))["blocked"] is False
        assert ok(viewer.get(f"/dnc/{first['id']}"))["number"] == "+12015550100"
        ok(admin.delete(f"/dnc/{first['id']}"), 204)
        error(viewer.get(f"/dnc/{first['id']}"), 404)
        error(admin.delete(f"/dnc/{first['id']}"), 404)

    def test_import(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        body = "number,note\n(201) 555-0101,a\n201 555 0102,\n201-555-0101,dup\n"
        report = ok(admin.post("/dnc/import", content=body, headers={"content-type": "text/csv"}))
        assert (report["read"], report["added"], report["already"], report["skipped"]) == (3, 2, 1, [])
        registry = ok(admin.post("/dnc/import", content="201,5550103\n", headers={"content-type": "text/csv"}))
        assert registry["added"] == 1
        assert ok(viewer.get("/dnc"))["total"] == 3

    def test_import_any_line_ending(self, admin: httpx.Client) -> None:
        # schemathesis found bare-CR bodies answered 500 (issue 13).
        report = ok(admin.post("/dnc/import", content="number\r2015550105\r2015550106\r", headers={"content-type": "text/csv"}))
        assert (report["read"], report["added"]) == (2, 2)
        body = error(admin.post("/dnc/import", content="a\rb", headers={"content-type": "text/csv"}), 422, "import_refused")
        assert [e["row"] for e in body["errors"]] == [1, 2]

    def test_import_refuses_bad_rows_or_skips_them(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        bad = "number\n2015550104\nnot a number\n"
        body = error(admin.post("/dnc/import", content=bad, headers={"content-type": "text/csv"}), 422, "import_refused")
        assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "number")]
        assert ok(viewer.get("/dnc"))["total"] == 0
        report = ok(admin.post("/dnc/import", params={"skip_invalid": "true"}, content=bad, headers={"content-type": "text/csv"}))
        assert report["added"] == 1 and [s["row"] for s in report["skipped"]] == [3]

    def test_errors(self, admin: httpx.Client, viewer: httpx.Client, anon: httpx.Client) -> None:
        assert fields(error(admin.post("/dnc", json={"number": "hello"}), 422)) == {"number"}
        assert fields(error(admin.post("/dnc", json={"number": "2015550100", "campaign_id": "camp_nope"}), 422)) == {"campaign_id"}
        error(admin.post("/dnc", json={"number": "2015550100", "colour": "red"}), 422)
        error(admin.post("/dnc/import", content="{}", headers={"content-type": "application/json"}), 415)
        error(admin.post("/dnc/import", content="\n", headers={"content-type": "text/csv"}), 422)
        error(viewer.post("/dnc", json={"number": "2015550100"}), 403)
        error(anon.get("/dnc"), 401)
        error(viewer.get("/dnc/check", params={"number": "x"}), 422)


class TestDispositionCodes:
    def test_seeded_created_changed_deleted(self, admin: httpx.Client, viewer: httpx.Client, live_api: LiveApi) -> None:
        codes = {c["code"]: c for c in ok(viewer.get("/disposition-codes"))}
        assert set(codes) >= {"sale", "not_interested", "callback", "dnc", "wrong_number", "no_decision"}
        assert codes["dnc"]["add_to_dnc"] and codes["dnc"]["final"]
        made = ok(admin.post("/disposition-codes", json={"code": "deceased", "label": "Deceased", "add_to_dnc": True}), 201)
        assert made["retry_delay_s"] == 3600
        error(admin.post("/disposition-codes", json={"code": "deceased", "label": "Again"}), 409)
        changed = ok(admin.patch("/disposition-codes/deceased", json={"label": "Passed away"}))
        assert changed["label"] == "Passed away" and changed["add_to_dnc"]
        campaign = make_campaign(admin)
        insert_call(live_api.sessions, campaign["id"], disposition="deceased")
        error(admin.delete("/disposition-codes/deceased"), 409)
        ok(admin.post("/disposition-codes", json={"code": "unused", "label": "Unused"}), 201)
        ok(admin.delete("/disposition-codes/unused"), 204)
        error(viewer.get("/disposition-codes/unused"), 404)
        assert fields(error(admin.post("/disposition-codes", json={"code": "Bad Code", "label": "x"}), 422)) == {"code"}


class TestCallDisposition:
    def test_applied_to_an_ended_call(self, admin: httpx.Client, live_api: LiveApi) -> None:
        campaign = make_campaign(admin, contacts=1)
        [contact] = contacts_of(admin, campaign)
        call_id = insert_call(
            live_api.sessions, campaign["id"], contact_id=contact["id"], number=contact["numbers"][0]["number"],
            outcome="CONNECTED", state="ended", ended_at=from_epoch(time.time() - 5),
        )
        result = ok(admin.post(f"/calls/{call_id}/disposition", json={"code": "dnc", "by": "ann", "note": "asked"}))
        assert result == {"call_id": call_id, "code": "dnc", "applied": True, "callback_id": None, "dnc_added": True}
        assert contacts_of(admin, campaign)[0]["status"] == "dnc"
        assert ok(admin.get("/dnc/check", params={"number": contact["numbers"][0]["number"]}))["blocked"]
        call = ok(admin.get(f"/calls/{call_id}"))
        assert (call["disposition"], call["disposition_by"], call["disposition_note"]) == ("dnc", "ann", "asked")
        error(admin.post(f"/calls/{call_id}/disposition", json={"code": "sale"}), 409)

    def test_a_callback(self, admin: httpx.Client, live_api: LiveApi) -> None:
        campaign = make_campaign(admin, contacts=1)
        [contact] = contacts_of(admin, campaign)
        call_id = insert_call(live_api.sessions, campaign["id"], contact_id=contact["id"], outcome="CONNECTED",
                              state="ended", ended_at=from_epoch(time.time() - 5))
        error(admin.post(f"/calls/{call_id}/disposition", json={"code": "callback"}), 422)
        due = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        agent = campaign["agent_ids"][0]
        result = ok(admin.post(f"/calls/{call_id}/disposition", json={"code": "callback", "callback_at": due, "callback_agent_id": agent}))
        callback = ok(admin.get(f"/callbacks/{result['callback_id']}"))
        assert (callback["agent_id"], callback["status"], callback["source_call_id"]) == (agent, "scheduled", call_id)

    def test_errors(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        error(admin.post("/calls/call_01J0000000000000000000000Z/disposition", json={"code": "sale"}), 404)
        error(admin.post("/calls/nope/disposition", json={"code": "sale"}), 404)
        error(admin.post("/calls/nope/disposition", json={"code": "sale", "callback_at": "tomorrow"}), 422)
        error(viewer.post("/calls/nope/disposition", json={"code": "sale"}), 403)


class TestCallbacks:
    def test_schedule_move_cancel(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        campaign = make_campaign(admin, contacts=1)
        [contact] = contacts_of(admin, campaign)
        due = datetime.now(UTC) + timedelta(days=1)
        made = ok(admin.post("/callbacks", json={"contact_id": contact["id"], "campaign_id": campaign["id"], "due_at": due.isoformat()}), 201)
        assert made["agent_id"] is None and made["status"] == "scheduled"
        assert ok(viewer.get("/callbacks", params={"campaign_id": campaign["id"]}))["total"] == 1
        later = (due + timedelta(hours=1)).isoformat()
        moved = ok(admin.patch(f"/callbacks/{made['id']}", json={"due_at": later, "agent_id": campaign["agent_ids"][0]}))
        assert moved["agent_id"] == campaign["agent_ids"][0]
        assert contacts_of(admin, campaign)[0]["next_attempt_at"] is not None
        assert ok(admin.post(f"/callbacks/{made['id']}/cancel"))["status"] == "cancelled"
        error(admin.post(f"/callbacks/{made['id']}/cancel"), 409)
        error(admin.patch(f"/callbacks/{made['id']}", json={"note": "x"}), 409)

    def test_errors(self, admin: httpx.Client) -> None:
        campaign, other = make_campaign(admin, contacts=1), make_campaign(admin, contacts=1)
        [contact] = contacts_of(admin, other)
        due = datetime.now(UTC).isoformat()
        body = error(admin.post("/callbacks", json={"contact_id": contact["id"], "campaign_id": campaign["id"], "due_at": due}), 422)
        assert fields(body) == {"contact_id"}
        error(admin.post("/callbacks", json={"contact_id": contact["id"], "campaign_id": other["id"], "due_at": "2026-01-01T10:00:00"}), 422)
        error(admin.get("/callbacks/cb_01J0000000000000000000000Z"), 404)


class TestEligibility:
    def test_a_contact_at_night(self, admin: httpx.Client, viewer: httpx.Client, live_api: LiveApi) -> None:
        campaign = make_campaign(admin, contacts=0)
        zone = night_zone()
        contact = ok(admin.post(f"/dial-lists/{campaign['dial_list_ids'][0]}/contacts", json={"phones": [NUMBERS[5]], "timezone": zone}), 201)
        set_columns(live_api.sessions, Campaign, campaign["id"], status="running")  # after the contact: an empty one finishes
        answer = ok(viewer.get(f"/contacts/{contact['id']}/eligibility"))
        assert answer["contact_id"] == contact["id"] and answer["dial_now"] is False
        [entry] = answer["campaigns"]
        assert [r["code"] for r in entry["reasons"]] == ["outside_hours"]
        opens = datetime.fromisoformat(entry["eligible_at"].replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
        assert (opens.hour, opens.minute) == (8, 0)
        assert entry["calling_hours"]["local_times"][0]["zone"] == zone

    def test_eligible_and_dnc(self, admin: httpx.Client, viewer: httpx.Client, live_api: LiveApi) -> None:
        campaign = running(live_api, admin, contacts=2, compliance_profile="none", schedule=ALWAYS)
        first, second = contacts_of(admin, campaign)
        assert ok(viewer.get(f"/contacts/{first['id']}/eligibility"))["dial_now"] is True
        ok(admin.post("/dnc", json={"number": second["numbers"][0]["number"]}), 201)
        answer = ok(viewer.get(f"/contacts/{second['id']}/eligibility", params={"campaign_id": campaign["id"]}))
        assert [r["code"] for r in answer["campaigns"][0]["reasons"]] == ["dnc"]
        assert answer["campaigns"][0]["eligible_at"] is None

    def test_a_campaign(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        campaign = make_campaign(admin)
        answer = ok(viewer.get(f"/campaigns/{campaign['id']}/eligibility"))
        assert answer["dialing"] is False and "the campaign is stopped" in answer["reasons"]
        assert answer["due_now"] == 2 and answer["contacts"] == {"pending": 2}
        assert any("drop_action is 'hangup'" in w for w in answer["warnings"])

    @pytest.mark.parametrize("path", ["/contacts/cont_01J0000000000000000000000Z/eligibility", "/contacts/nope/eligibility",
                                      "/campaigns/nope/eligibility"])
    def test_unknown(self, viewer: httpx.Client, path: str) -> None:
        error(viewer.get(path), 404)


class TestExports:
    def test_each_kind(self, admin: httpx.Client, viewer: httpx.Client, live_api: LiveApi) -> None:
        campaign = make_campaign(admin)
        insert_call(live_api.sessions, campaign["id"], outcome="ABANDONED", abandon_reason="timeout",
                    ended_at=from_epoch(time.time() - 60), drop_message_played=True)
        response = viewer.get("/compliance/exports/attempts.csv", params={"campaign_id": campaign["id"]})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        [row] = list(csv.DictReader(io.StringIO(response.text)))
        assert (row["outcome"], row["abandon_reason"], row["drop_message_played"]) == ("ABANDONED", "timeout", "true")
        abandons = list(csv.DictReader(io.StringIO(viewer.get("/compliance/exports/abandons.csv").text)))
        assert abandons[0]["window"] == "campaign_to_date" and abandons[0]["abandoned"] == "1"
        for kind in ("dnc-checks", "dnc"):
            assert viewer.get(f"/compliance/exports/{kind}.csv").status_code == 200

    def test_errors(self, viewer: httpx.Client, anon: httpx.Client) -> None:
        error(viewer.get("/compliance/exports/secrets.csv"), 422)
        assert fields(error(viewer.get("/compliance/exports/attempts.csv", params={"campaign_id": "camp_nope"}), 422)) == {"campaign_id"}
        error(viewer.get("/compliance/exports/attempts.csv", params={"since": "2026-01-01T00:00:00"}), 422)
        error(anon.get("/compliance/exports/attempts.csv"), 401)


class TestCampaignSchedule:
    def test_a_bad_schedule_is_refused(self, admin: httpx.Client) -> None:
        body = error(admin.post("/campaigns", json=_campaign_body(admin, schedule={"start": "8am"})), 422)
        assert fields(body) == {"schedule"} and "schedule.start" in body["message"]

    def test_a_window_beyond_legal_hours_conflicts_with_the_profile(self, admin: httpx.Client) -> None:
        body = error(admin.post("/campaigns", json=_campaign_body(admin, schedule={"start": "07:00"})), 409)
        assert fields(body) == {"schedule"}
        made = ok(admin.post("/campaigns", json=_campaign_body(admin, schedule={"start": "07:00"}, compliance_profile="none")), 201)
        error(admin.patch(f"/campaigns/{made['id']}", json={"compliance_profile": "us-tsr"}), 409)
        assert ok(admin.patch(f"/campaigns/{made['id']}", json={"schedule": {"start": "09:00"}}))["schedule"] == {"start": "09:00"}


def _campaign_body(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    from tests.api.helpers import make_agent, make_list, make_plan, unique

    dial_list = make_list(client)
    add_contacts(client, dial_list["id"], 1)
    return {
        "name": unique("campaign"), "queue": "olive-sales", "plan_id": make_plan(client)["id"],
        "dial_list_ids": [dial_list["id"]], "agent_ids": [make_agent(client)["id"]], **overrides,
    }
