"""Building blocks for API tests: make resources over HTTP and check error bodies."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

_n = itertools.count(1)

#: Valid US numbers (NANP 555-01xx fictional range is not valid; 201-555-01xx is).
NUMBERS = [f"+1201555{n:04d}" for n in range(100, 200)]


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_n)}"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content and response.headers["content-type"].startswith("application/json") else None


def error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Check an error response's status and shape; return its body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], list)
    if code is not None:
        assert body["code"] == code, body
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body["errors"] if e.get("field")}


def make_plan(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    data = {"name": unique("plan"), "channel_template": "PJSIP/{number}@trunk", **overrides}
    result: dict[str, Any] = ok(client.post("/plans", json=data), 201)
    return result


def make_list(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    data = {"name": unique("list"), **overrides}
    result: dict[str, Any] = ok(client.post("/dial-lists", json=data), 201)
    return result


def make_agent(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    n = next(_n)
    data = {"name": f"agent-{n}", "interface": f"PJSIP/{1000 + n}", **overrides}
    result: dict[str, Any] = ok(client.post("/agents", json=data), 201)
    return result


def add_contacts(client: httpx.Client, list_id: str, count: int = 2) -> list[dict[str, Any]]:
    created = []
    for i in range(count):
        body = {"phones": [NUMBERS[i]], "name": f"Contact {i}", "external_ref": unique("ref")}
        created.append(ok(client.post(f"/dial-lists/{list_id}/contacts", json=body), 201))
    return created


def make_campaign(client: httpx.Client, *, agents: int = 1, contacts: int = 2, **overrides: Any) -> dict[str, Any]:
    """A stopped campaign with a plan, a dial list with contacts, and agents."""
    plan = overrides.pop("plan", None) or make_plan(client)
    dial_list = make_list(client)
    add_contacts(client, dial_list["id"], contacts)
    agent_ids = [make_agent(client)["id"] for _ in range(agents)]
    data = {
        "name": unique("campaign"),
        "queue": "olive-sales",
        "plan_id": plan["id"],
        "dial_list_ids": [dial_list["id"]],
        "agent_ids": agent_ids,
        **overrides,
    }
    result: dict[str, Any] = ok(client.post("/campaigns", json=data), 201)
    return result


UNKNOWN_IDS = ["plan_01J0000000000000000000000Z", "nope", "x" * 64, "%00", "campaign_%E2%98%83"]


def set_columns(sessions: Any, model: Any, id: str, **values: Any) -> None:
    """Change a row behind the API's back (a state only the engine would reach)."""
    from olive.store import transaction

    with transaction(sessions) as session:
        row = session.get(model, id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)


def insert_call(sessions: Any, campaign_id: str, **values: Any) -> str:
    """A call record, as the engine writes them."""
    from olive.ids import new_id
    from olive.store import Call, transaction

    call_id = new_id("call")
    with transaction(sessions) as session:
        session.add(Call(id=call_id, campaign_id=campaign_id, number=values.pop("number", NUMBERS[0]), **values))
    return call_id
