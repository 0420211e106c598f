"""/dial-lists over HTTP."""

from __future__ import annotations

import httpx
import pytest

from olive.store import Contact

from .conftest import LiveApi
from .helpers import (
    UNKNOWN_IDS,
    add_contacts,
    error,
    fields,
    make_campaign,
    make_list,
    ok,
    set_columns,
)


class TestCreateDialList:
    def test_creates(self, admin: httpx.Client) -> None:
        response = admin.post("/dial-lists", json={"name": "spring", "default_region": "gb"})
        dial_list = ok(response, 201)
        assert response.headers["location"] == f"/dial-lists/{dial_list['id']}"
        assert dial_list["default_region"] == "GB" and dial_list["contact_count"] == 0

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"name": "x", "default_region": "ZZ"}, "default_region"), ({"name": "x", "default_region": "USA"}, "default_region"), ({}, "name")],
    )
    def test_bad_fields(self, admin: httpx.Client, body: dict[str, str], field: str) -> None:
        assert field in fields(error(admin.post("/dial-lists", json=body), 422))

    def test_duplicate(self, admin: httpx.Client) -> None:
        make_list(admin, name="dup")
        error(admin.post("/dial-lists", json={"name": "dup"}), 409)


class TestListDialLists:
    def test_counts_and_filters(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin, contacts=3)
        other = make_list(admin, name="empty")
        page = ok(admin.get("/dial-lists"))
        assert page["total"] == 2
        first = page["items"][0]
        assert first["contact_count"] == 3 and first["campaign_ids"] == [campaign["id"]]
        assert [d["id"] for d in ok(admin.get("/dial-lists", params={"name": "empty"}))["items"]] == [other["id"]]
        assert len(ok(admin.get("/dial-lists", params={"limit": 1}))["items"]) == 1


class TestReadDialList:
    def test_reads(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        dial_list = make_list(admin)
        assert ok(viewer.get(f"/dial-lists/{dial_list['id']}")) == dial_list

    @pytest.mark.parametrize("dial_list_id", UNKNOWN_IDS)
    def test_unknown(self, admin: httpx.Client, dial_list_id: str) -> None:
        error(admin.get(f"/dial-lists/{dial_list_id}"), 404)


class TestUpdateDialList:
    def test_changes(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        changed = ok(admin.patch(f"/dial-lists/{dial_list['id']}", json={"name": "renamed", "default_region": "FR"}))
        assert changed["name"] == "renamed" and changed["default_region"] == "FR"

    def test_errors(self, admin: httpx.Client) -> None:
        make_list(admin, name="taken")
        dial_list = make_list(admin)
        error(admin.patch(f"/dial-lists/{dial_list['id']}", json={"name": "taken"}), 409)
        error(admin.patch(f"/dial-lists/{dial_list['id']}", json={"default_region": None}), 422)
        error(admin.patch("/dial-lists/list_nope", json={"name": "y"}), 404)


class TestDeleteDialList:
    def test_deletes_with_contacts(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        add_contacts(admin, dial_list["id"], 2)
        assert admin.delete(f"/dial-lists/{dial_list['id']}").status_code == 204
        error(admin.get(f"/dial-lists/{dial_list['id']}/contacts"), 404)

    def test_not_while_a_running_campaign_dials_it(self, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        ok(admin.post(f"/campaigns/{campaign['id']}/start"))
        body = error(admin.delete(f"/dial-lists/{campaign['dial_list_ids'][0]}"), 409)
        assert campaign["name"] in body["message"]

    def test_not_while_a_contact_is_on_a_call(self, admin: httpx.Client, live_api: LiveApi) -> None:
        dial_list = make_list(admin)
        (contact,) = add_contacts(admin, dial_list["id"], 1)
        set_columns(live_api.sessions, Contact, contact["id"], active_call_id="call_X", status="dialing")
        error(admin.delete(f"/dial-lists/{dial_list['id']}"), 409)

    def test_unknown_and_viewer(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        error(admin.delete("/dial-lists/list_nope"), 404)
        error(viewer.delete(f"/dial-lists/{make_list(admin)['id']}"), 403)
