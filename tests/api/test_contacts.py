"""/dial-lists/{id}/contacts over HTTP: one contact at a time."""

from __future__ import annotations

import httpx
import pytest

from olive.store import Contact

from .conftest import LiveApi
from .helpers import NUMBERS, UNKNOWN_IDS, add_contacts, error, fields, make_list, ok, set_columns


class TestAddContact:
    def test_normalises_with_the_list_region(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin, default_region="GB")
        body = {
            "phones": ["020 7946 0000", "+1 (201) 555-0100"],
            "name": "Ada",
            "external_ref": "A-1",
            "timezone": "Europe/London",
            "variables": {"account": "42"},
        }
        response = admin.post(f"/dial-lists/{dial_list['id']}/contacts", json=body)
        contact = ok(response, 201)
        assert response.headers["location"].endswith(f"/contacts/{contact['id']}")
        assert [n["number"] for n in contact["numbers"]] == ["+442079460000", "+12015550100"]
        assert [n["position"] for n in contact["numbers"]] == [0, 1]
        assert contact["status"] == "pending" and contact["variables"] == {"account": "42"}
        assert contact["dial_list_id"] == dial_list["id"] and contact["next_attempt_at"] is None

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"phones": ["12"]}, "phones[0]"),
            ({"phones": [NUMBERS[0], "call me"]}, "phones[1]"),
            ({"phones": []}, "phones"),
            ({"phones": [NUMBERS[0]], "timezone": "Mars/Base"}, "timezone"),
            ({"phones": [NUMBERS[0]], "timezone": "America"}, "timezone"),
            ({"phones": [NUMBERS[0]], "variables": {"bad name": "x"}}, "variables.bad name"),
            ({"phones": [NUMBERS[0]], "variables": {"a": "line\nbreak"}}, "variables.a"),
            ({"phones": [NUMBERS[0]], "name": "x" * 201}, "name"),
            ({"phones": [NUMBERS[0]], "colour": "red"}, "colour"),
        ],
    )
    def test_names_the_bad_field(self, admin: httpx.Client, body: dict[str, object], field: str) -> None:
        dial_list = make_list(admin)
        problem = error(admin.post(f"/dial-lists/{dial_list['id']}/contacts", json=body), 422)
        assert field in fields(problem), problem
        assert ok(admin.get(f"/dial-lists/{dial_list['id']}"))["contact_count"] == 0

    def test_external_ref_is_unique_in_the_list(self, admin: httpx.Client) -> None:
        dial_list, other = make_list(admin), make_list(admin)
        body = {"phones": [NUMBERS[0]], "external_ref": "same"}
        ok(admin.post(f"/dial-lists/{dial_list['id']}/contacts", json=body), 201)
        assert fields(error(admin.post(f"/dial-lists/{dial_list['id']}/contacts", json=body), 409)) == {"external_ref"}
        ok(admin.post(f"/dial-lists/{other['id']}/contacts", json=body), 201)

    def test_unknown_list_and_viewer(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        error(admin.post("/dial-lists/list_nope/contacts", json={"phones": [NUMBERS[0]]}), 404)
        error(viewer.post(f"/dial-lists/{make_list(admin)['id']}/contacts", json={"phones": [NUMBERS[0]]}), 403)


class TestListContacts:
    def test_filters(self, admin: httpx.Client, live_api: LiveApi) -> None:
        dial_list = make_list(admin)
        a, b, c = add_contacts(admin, dial_list["id"], 3)
        set_columns(live_api.sessions, Contact, c["id"], status="done")
        base = f"/dial-lists/{dial_list['id']}/contacts"
        assert [x["id"] for x in ok(admin.get(base))["items"]] == [a["id"], b["id"], c["id"]]
        assert [x["id"] for x in ok(admin.get(base, params={"status": "done"}))["items"]] == [c["id"]]
        assert [x["id"] for x in ok(admin.get(base, params={"external_ref": b["external_ref"]}))["items"]] == [b["id"]]
        national = "(201) 555-" + NUMBERS[1][-4:]
        assert [x["id"] for x in ok(admin.get(base, params={"number": national}))["items"]] == [b["id"]]
        page = ok(admin.get(base, params={"limit": 2}))
        assert page["has_more"] and page["total"] == 3

    def test_bad_number_filter(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        body = error(admin.get(f"/dial-lists/{dial_list['id']}/contacts", params={"number": "abc"}), 422)
        assert fields(body) == {"number"}

    def test_unknown_list(self, admin: httpx.Client) -> None:
        error(admin.get("/dial-lists/list_nope/contacts"), 404)


class TestReadContact:
    def test_reads(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        dial_list = make_list(admin)
        (contact,) = add_contacts(admin, dial_list["id"], 1)
        assert ok(viewer.get(f"/dial-lists/{dial_list['id']}/contacts/{contact['id']}")) == contact

    def test_contact_of_another_list_is_not_found(self, admin: httpx.Client) -> None:
        dial_list, other = make_list(admin), make_list(admin)
        (contact,) = add_contacts(admin, dial_list["id"], 1)
        error(admin.get(f"/dial-lists/{other['id']}/contacts/{contact['id']}"), 404)

    @pytest.mark.parametrize("contact_id", UNKNOWN_IDS)
    def test_unknown(self, admin: httpx.Client, contact_id: str) -> None:
        dial_list = make_list(admin)
        error(admin.get(f"/dial-lists/{dial_list['id']}/contacts/{contact_id}"), 404)


class TestUpdateContact:
    def test_changes_fields_and_numbers(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        (contact,) = add_contacts(admin, dial_list["id"], 1)
        url = f"/dial-lists/{dial_list['id']}/contacts/{contact['id']}"
        changed = ok(admin.patch(url, json={"name": "New", "timezone": "America/Chicago", "variables": {"x": "1"}}))
        assert changed["name"] == "New" and changed["timezone"] == "America/Chicago" and changed["variables"] == {"x": "1"}
        assert changed["numbers"] == contact["numbers"]
        renumbered = ok(admin.patch(url, json={"phones": [NUMBERS[5], NUMBERS[6]]}))
        assert [n["number"] for n in renumbered["numbers"]] == [NUMBERS[5], NUMBERS[6]]
        assert ok(admin.patch(url, json={"name": None}))["name"] is None

    def test_status(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        (contact,) = add_contacts(admin, dial_list["id"], 1)
        url = f"/dial-lists/{dial_list['id']}/contacts/{contact['id']}"
        assert ok(admin.patch(url, json={"status": "dnc"}))["status"] == "dnc"
        assert ok(admin.patch(url, json={"status": "pending"}))["status"] == "pending"
        assert fields(error(admin.patch(url, json={"status": "dialing"}), 422)) == {"status"}

    def test_not_while_on_a_call(self, admin: httpx.Client, live_api: LiveApi) -> None:
        dial_list = make_list(admin)
        (contact,) = add_contacts(admin, dial_list["id"], 1)
        set_columns(live_api.sessions, Contact, contact["id"], active_call_id="call_X", status="dialing")
        url = f"/dial-lists/{dial_list['id']}/contacts/{contact['id']}"
        error(admin.patch(url, json={"phones": [NUMBERS[3]]}), 409)
        error(admin.patch(url, json={"status": "done"}), 409)
        ok(admin.patch(url, json={"name": "fine"}))

    def test_errors(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        first, second = add_contacts(admin, dial_list["id"], 2)
        url = f"/dial-lists/{dial_list['id']}/contacts/{second['id']}"
        error(admin.patch(url, json={"external_ref": first["external_ref"]}), 409)
        assert fields(error(admin.patch(url, json={"phones": ["nope"]}), 422)) == {"phones[0]"}
        error(admin.patch(url, json={"phones": None}), 422)
        error(admin.patch(f"/dial-lists/{dial_list['id']}/contacts/cont_nope", json={"name": "x"}), 404)


class TestDeleteContact:
    def test_deletes(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        (contact,) = add_contacts(admin, dial_list["id"], 1)
        url = f"/dial-lists/{dial_list['id']}/contacts/{contact['id']}"
        assert admin.delete(url).status_code == 204
        error(admin.get(url), 404)

    def test_not_while_on_a_call(self, admin: httpx.Client, live_api: LiveApi) -> None:
        dial_list = make_list(admin)
        (contact,) = add_contacts(admin, dial_list["id"], 1)
        set_columns(live_api.sessions, Contact, contact["id"], active_call_id="call_X", status="dialing")
        error(admin.delete(f"/dial-lists/{dial_list['id']}/contacts/{contact['id']}"), 409)

    def test_unknown_and_viewer(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        dial_list = make_list(admin)
        (contact,) = add_contacts(admin, dial_list["id"], 1)
        error(admin.delete(f"/dial-lists/{dial_list['id']}/contacts/cont_nope"), 404)
        error(viewer.delete(f"/dial-lists/{dial_list['id']}/contacts/{contact['id']}"), 403)
