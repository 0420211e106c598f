"""The API refuses control characters (not only CR/LF) and numbers with extensions (issue 10)."""

from __future__ import annotations

import httpx
import pytest

from .helpers import error, fields, make_list, unique

BAD = pytest.mark.parametrize(
    ("bad", "named"),
    [("\x1b", "U+001B (ESC)"), ("\t", "U+0009 (TAB)"), ("\x85", "U+0085 (NEL)"), ("\u2028", "U+2028"), ("\u202e", "U+202E")],
)


@BAD
def test_plan_caller_id_and_channel_template(admin: httpx.Client, bad: str, named: str) -> None:
    for field, value in (("caller_id", f"Olive{bad} <2025550100>"), ("channel_template", f"PJSIP/{{number}}@t{bad}")):
        body = {"name": unique("plan"), "channel_template": "PJSIP/{number}@trunk", field: value}
        refused = error(admin.post("/plans", json=body), 422)
        assert fields(refused) == {field}
        assert named in refused["errors"][0]["reason"], refused


@BAD
def test_agent_interface(admin: httpx.Client, bad: str, named: str) -> None:
    refused = error(admin.post("/agents", json={"name": unique("agent"), "interface": f"PJSIP/101{bad}"}), 422)
    assert fields(refused) == {"interface"}


@BAD
def test_contact_json(admin: httpx.Client, bad: str, named: str) -> None:
    dial_list = make_list(admin)
    body = {"phones": ["+12025550142"], "name": f"Ann{bad}"}
    refused = error(admin.post(f"/dial-lists/{dial_list['id']}/contacts", json=body), 422)
    assert fields(refused) == {"name"} and named in refused["errors"][0]["reason"]


@pytest.mark.parametrize("number", ["+1 202 555 0142 x99", "+12025550142;ext=5", "(202) 555-0142 ext. 99"])
def test_a_number_with_an_extension(admin: httpx.Client, number: str) -> None:
    dial_list = make_list(admin)
    refused = error(admin.post(f"/dial-lists/{dial_list['id']}/contacts", json={"phones": [number]}), 422)
    assert "extension" in str(refused)
    csv = f"phone,name\n{number},Ann\n"
    response = admin.post(
        f"/dial-lists/{dial_list['id']}/contacts/import", content=csv, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422 and "extension" in response.text
