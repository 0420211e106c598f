"""/dial-lists/{id}/contacts/import: CSV or JSON, all or nothing, every bad row reported."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import Keys
from .helpers import NUMBERS, add_contacts, error, make_list, ok

CSV = "text/csv"


def _import(client: httpx.Client, list_id: str, body: str | bytes, content_type: str = CSV) -> httpx.Response:
    return client.post(f"/dial-lists/{list_id}/contacts/import", content=body, headers={"content-type": content_type})


def _count(client: httpx.Client, list_id: str) -> int:
    count: int = ok(client.get(f"/dial-lists/{list_id}"))["contact_count"]
    return count


def _by_name(client: httpx.Client, list_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(client.get(f"/dial-lists/{list_id}/contacts"))["items"]
    return sorted(items, key=lambda c: c["name"] or "~")


class TestImportCsv:
    def test_imports_every_row(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        text = (
            "phone,phone2,name,external_ref,timezone,account\n"
            "(201) 555-0100,,Ada,A-1,America/New_York,42\n"
            '201-555-0101,+12015550102,"Bob, Jr.",B-2,,43\n'
        )
        report = ok(_import(admin, dial_list["id"], text, "text/csv; charset=utf-8"), 201)
        assert report == {"dial_list_id": dial_list["id"], "imported": 2, "contact_count": 2}
        ada, bob = _by_name(admin, dial_list["id"])
        assert [n["number"] for n in bob["numbers"]] == ["+12015550101", "+12015550102"]
        assert ada["variables"] == {"account": "42"} and bob["name"] == "Bob, Jr." and ada["timezone"] == "America/New_York"

    def test_refuses_the_whole_file_and_lists_every_bad_row(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        text = (
            "phone,name,external_ref,timezone\n"
            "201-555-0100,Ada,A-1,\n"  # line 2: fine
            "12,Bob,B-2,\n"  # line 3: bad number
            "201-555-0102,Cy,A-1,Mars/Base\n"  # line 4: duplicate ref, bad zone
            '"201-555-0103","' + "x" * 201 + '",C-3,America\n'  # line 5: name too long, bad zone
        )
        body = error(_import(admin, dial_list["id"], text), 422, "import_refused")
        problems = {(e["row"], e["field"]) for e in body["errors"]}
        assert problems == {(3, "phone"), (4, "external_ref"), (4, "timezone"), (5, "name"), (5, "timezone")}
        assert all(e["location"] == "row" and e["reason"] for e in body["errors"])
        assert "3 bad row(s)" in body["message"]
        assert _count(admin, dial_list["id"]) == 0

    def test_refs_already_in_the_list(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        (existing,) = add_contacts(admin, dial_list["id"], 1)
        text = f"phone,external_ref\n{NUMBERS[7]},new\n{NUMBERS[8]},{existing['external_ref']}\n"
        body = error(_import(admin, dial_list["id"], text), 422, "import_refused")
        assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "external_ref")]
        assert _count(admin, dial_list["id"]) == 1

    def test_region_of_the_list(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin, default_region="GB")
        ok(_import(admin, dial_list["id"], "phone\n020 7946 0000\n"), 201)
        contact = ok(admin.get(f"/dial-lists/{dial_list['id']}/contacts"))["items"][0]
        assert contact["numbers"][0]["number"] == "+442079460000"

    @pytest.mark.parametrize(
        ("text", "field"),
        [("", "header"), ("name\nAda\n", "header"), ('phone\n"' + "1" * 200_000 + '"\n', "row"), ("phone,x\n1,2,3\n", "row")],
    )
    def test_unreadable_csv(self, admin: httpx.Client, text: str, field: str) -> None:
        dial_list = make_list(admin)
        body = error(_import(admin, dial_list["id"], text), 422, "import_refused")
        assert body["errors"][0]["field"] == field

    def test_not_utf8(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        error(_import(admin, dial_list["id"], b"phone\n\xff\xfe\n"), 422, "invalid")


class TestImportCsvStreamed:
    """The CSV body is read as it arrives (chunked here), never whole: what the chunks split stays whole."""

    def test_split_mid_bom_mid_row_and_mid_character(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        data = "\ufeffphone,name,external_ref\n+12015550100,Zoë,A-é\n+12015550101,\"Ærø, Jr.\",B-2\n".encode()
        cuts = [2, data.index(b"\xc3\xab") + 1, data.index(b"\n+12015550101") + 5, data.index(b"\xc3\x86") + 1]

        def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked, cut where it hurts
            start = 0
            for cut in [*sorted(cuts), len(data)]:
                yield data[start:cut]
                start = cut

        report = ok(_import(admin, dial_list["id"], chunks()), 201)
        assert report["imported"] == 2
        names = {c["external_ref"]: c["name"] for c in _by_name(admin, dial_list["id"])}
        assert names == {"A-é": "Zoë", "B-2": "Ærø, Jr."}

    def test_a_bad_last_row_in_a_later_chunk_stores_nothing(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        good = "".join(f"+1201555{i:04d},R-{i}\n" for i in range(3000)).encode()

        def chunks() -> Iterator[bytes]:
            yield b"phone,external_ref\n"
            yield from (good[i : i + 7000] for i in range(0, len(good), 7000))
            yield b"+1201555,R-"
            yield b"last"  # the last row, without a final newline

        body = error(_import(admin, dial_list["id"], chunks()), 422, "import_refused")
        assert [(e["row"], e["field"]) for e in body["errors"]] == [(3002, "phone")]
        assert _count(admin, dial_list["id"]) == 0

    def test_a_refusal_lists_the_first_1000_problems_and_counts_every_bad_row(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        text = "phone\n" + "12\n" * 1500
        body = error(_import(admin, dial_list["id"], text), 422, "import_refused")
        assert len(body["errors"]) == 1000 and body["errors"][-1]["row"] == 1001
        assert body["message"].startswith("1500 bad row(s); nothing was imported")
        assert "500 more" in body["message"]


class TestImportJson:
    def test_imports(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        rows = [
            {"phones": [NUMBERS[0], NUMBERS[1]], "name": "Ada", "variables": {"plan": "gold"}},
            {"phone": "201 555 0150", "external_ref": "X", "tier": "2"},
        ]
        report = ok(_import(admin, dial_list["id"], json.dumps(rows), "application/json"), 201)
        assert report["imported"] == 2
        ada, unnamed = _by_name(admin, dial_list["id"])
        assert ada["variables"] == {"plan": "gold"} and unnamed["variables"] == {"tier": "2"}

    def test_bad_items(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        rows = [{"phones": [NUMBERS[0]]}, 7, {"phones": ["nope"]}, {"name": "no phone"}]
        body = error(_import(admin, dial_list["id"], json.dumps(rows), "application/json"), 422, "import_refused")
        assert {(e["row"], e["field"]) for e in body["errors"]} == {(2, "row"), (3, "phones[0]"), (4, "phone")}
        assert _count(admin, dial_list["id"]) == 0

    @pytest.mark.parametrize("text", ["{", '{"phones": []}', "[" * 100_000, "\xff"])
    def test_not_an_array_of_objects(self, admin: httpx.Client, text: str) -> None:
        dial_list = make_list(admin)
        body = error(_import(admin, dial_list["id"], text.encode("latin-1"), "application/json"), 422, "invalid")
        assert body["errors"][0]["location"] == "body"

    def test_empty_array(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        assert ok(_import(admin, dial_list["id"], "[]", "application/json"), 201)["imported"] == 0


class TestImportRefused:
    def test_other_media_types(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        error(_import(admin, dial_list["id"], "phone\n", "text/plain"), 415, "unsupported_media_type")
        error(admin.post(f"/dial-lists/{dial_list['id']}/contacts/import", content=b"phone\n"), 415)

    def test_too_large_is_refused_before_it_is_read(self, admin: httpx.Client, keys: Keys) -> None:
        dial_list = make_list(admin)
        url = httpx.URL(str(admin.base_url))
        request = (
            f"POST /dial-lists/{dial_list['id']}/contacts/import HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {keys.admin}\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {65 * 1024 * 1024}\r\nConnection: close\r\n\r\nphone\n"
        )
        with socket.create_connection((url.host, url.port)) as sock:
            sock.sendall(request.encode())
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 ")
        assert json.loads(body)["code"] == "too_large"

    def test_too_large_while_streaming(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)

        def chunks() -> Iterator[bytes]:
            yield b"phone\n"
            for _ in range(65):
                yield b"2015550100\n" * (1024 * 1024 // 11 + 1)

        response = admin.post(
            f"/dial-lists/{dial_list['id']}/contacts/import", content=chunks(), headers={"content-type": CSV}
        )
        error(response, 413, "too_large")

    def test_a_json_body_over_its_limit(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        url = f"/dial-lists/{dial_list['id']}/contacts/import"
        item = json.dumps({"phone": NUMBERS[0], "name": "x" * 100}).encode()
        big = b"[" + b",".join([item] * (9 * 1024 * 1024 // len(item))) + b"]"
        declared = error(admin.post(url, content=big, headers={"content-type": "application/json"}), 413, "too_large")
        assert "JSON" in declared["message"] and "CSV" in declared["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused while reading
            yield from (big[i : i + 65536] for i in range(0, len(big), 65536))

        error(admin.post(url, content=chunks(), headers={"content-type": "application/json"}), 413, "too_large")
        assert _count(admin, dial_list["id"]) == 0

    def test_unknown_list_and_viewer(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        error(_import(admin, "list_nope", "phone\n"), 404)
        error(_import(viewer, make_list(admin)["id"], "phone\n"), 403)
        error(_import(admin, "list_nope", "phone\n", "text/plain"), 415)


class TestPrivateNumbering:
    """Issue 18: a dial list of lab or internal numbers (1001) skips the country checks only."""

    def test_a_private_list_takes_internal_numbers(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin, numbering="private")
        assert dial_list["numbering"] == "private"
        ok(_import(admin, dial_list["id"], "phone,phone2,name\n1001,*43,Lab\n"), 201)
        (contact,) = _by_name(admin, dial_list["id"])
        assert [n["number"] for n in contact["numbers"]] == ["1001", "*43"]
        found = ok(admin.get(f"/dial-lists/{dial_list['id']}/contacts", params={"number": "1001"}))["items"]
        assert [c["id"] for c in found] == [contact["id"]]

    def test_it_still_refuses_what_could_break_a_dial_string(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin, numbering="private")
        body = error(_import(admin, dial_list["id"], 'phone\n"10\r01"\n1001@evil\n'), 422)
        assert _count(admin, dial_list["id"]) == 0
        assert "control character" in json.dumps(body) and "not a private-plan number" in json.dumps(body)

    def test_a_national_list_refuses_them_as_before(self, admin: httpx.Client) -> None:
        dial_list = make_list(admin)
        assert dial_list["numbering"] == "e164"
        body = error(_import(admin, dial_list["id"], "phone\n1001\n"), 422)
        assert "impossible number" in json.dumps(body)

    def test_numbering_is_validated_and_can_be_changed(self, admin: httpx.Client) -> None:
        error(admin.post("/dial-lists", json={"name": "bad-numbering", "numbering": "lab"}), 422)
        dial_list = make_list(admin)
        changed = ok(admin.patch(f"/dial-lists/{dial_list['id']}", json={"numbering": "private"}))
        assert changed["numbering"] == "private"
        ok(_import(admin, dial_list["id"], "phone\n1001\n"), 201)
