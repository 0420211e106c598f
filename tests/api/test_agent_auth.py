"""The agent's own endpoints over HTTP: passwords, sessions, and what an agent may reach.

An agent signs in with the password an admin issued and gets a session
token. The token reaches only ``/agent/...`` and only the agent's own data:
another agent's call (and so contact) is 404, admin and viewer endpoints are
403. A revoked password or a forced-out agent is signed out at once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select

from olive.api._throttle import LIMIT
from olive.store import (
    Agent,
    AgentCredential,
    AgentSession,
    Call,
    Contact,
    check_password,
    issue_agent_password,
    make_sessionmaker,
    transaction,
)

from .conftest import LiveApi, start_live_api, stop_live_api
from .helpers import error, fields, insert_call, make_campaign, ok, set_columns


def _password(admin: httpx.Client, agent_id: str) -> str:
    body = ok(admin.post(f"/agents/{agent_id}/password"), 201)
    assert body["agent_id"] == agent_id
    password: str = body["password"]
    return password


def _sign_in(live_api: LiveApi, admin: httpx.Client, agent_id: str) -> httpx.Client:
    name = ok(admin.get(f"/agents/{agent_id}"))["name"]
    session = ok(live_api.client().post("/agent/session", json={"name": name, "password": _password(admin, agent_id)}), 201)
    assert session["token"].startswith("olive_agent_") and session["agent_id"] == agent_id
    return live_api.client(session["token"])


@pytest.fixture
def two(admin: httpx.Client, live_api: LiveApi) -> dict[str, Any]:
    """A campaign with two agents, each signed in on their own page, and a connected call for each."""
    campaign = make_campaign(admin, agents=2, contacts=2)
    a, b = campaign["agent_ids"]
    with transaction(live_api.sessions) as s:
        rows = list(s.scalars(select(Contact).order_by(Contact.name)))
        contact_ids = [c.id for c in rows]
    now = datetime.now(UTC)
    calls = [
        insert_call(live_api.sessions, campaign["id"], contact_id=contact_ids[i], agent_id=agent, state="connected",
                    agent_connected_at=now, answered_at=now)
        for i, agent in enumerate((a, b))
    ]
    for agent, call in zip((a, b), calls, strict=True):
        set_columns(live_api.sessions, Agent, agent, state="on_call", current_call_id=call)
    return {"campaign": campaign, "agents": (a, b), "calls": calls, "contacts": contact_ids,
            "pages": (_sign_in(live_api, admin, a), _sign_in(live_api, admin, b))}


class TestPasswords:
    def test_stored_salted_and_hashed(self, admin: httpx.Client, live_api: LiveApi) -> None:
        agent = make_campaign(admin, agents=1)["agent_ids"][0]
        first, second = _password(admin, agent), _password(admin, agent)
        with transaction(live_api.sessions) as s:
            rows = list(s.scalars(select(AgentCredential).where(AgentCredential.agent_id == agent)))
            assert len(rows) == 2 and sum(r.revoked_at is None for r in rows) == 1  # the new one revokes the old
            live = next(r for r in rows if r.revoked_at is None)
            assert second not in live.secret_hash and live.secret_hash.startswith("scrypt$")
            assert check_password(second, live.secret_hash) and not check_password(first, live.secret_hash)
            assert rows[0].secret_hash.split("$")[4] != rows[1].secret_hash.split("$")[4]  # salted

    def test_wrong_name_or_password(self, admin: httpx.Client, anon: httpx.Client) -> None:
        agent = ok(admin.get(f"/agents/{make_campaign(admin, agents=1)['agent_ids'][0]}"))
        password = _password(admin, agent["id"])
        error(anon.post("/agent/session", json={"name": agent["name"], "password": password + "x"}), 401)
        error(anon.post("/agent/session", json={"name": "nobody", "password": password}), 401)
        assert "password" in fields(error(anon.post("/agent/session", json={"name": agent["name"]}), 422))
        ok(anon.post("/agent/session", json={"name": agent["name"], "password": password}), 201)

    def test_only_admins_issue(self, admin: httpx.Client, viewer: httpx.Client) -> None:
        agent = make_campaign(admin, agents=1)["agent_ids"][0]
        error(viewer.post(f"/agents/{agent}/password"), 403)
        error(viewer.delete(f"/agents/{agent}/password"), 403)
        error(admin.delete(f"/agents/{agent}/password"), 404)  # none issued yet
        error(admin.post("/agents/agent_01J0000000000000000000000Z/password"), 404)


class TestAgentSession:
    def test_reads_own_state(self, two: dict[str, Any]) -> None:
        page_a, _ = two["pages"]
        me = ok(page_a.get("/agent/me"))
        assert me["agent"]["id"] == two["agents"][0] and me["call_id"] == two["calls"][0]
        assert [c["id"] for c in me["campaigns"]] == [two["campaign"]["id"]]
        assert "lunch" in [r["code"] for r in me["pause_reasons"]]
        assert "sale" in [c["code"] for c in me["disposition_codes"]]

    def test_screen_pop_of_own_call_only(self, two: dict[str, Any]) -> None:
        page_a, page_b = two["pages"]
        call_a, call_b = two["calls"]
        pop = ok(page_a.get(f"/agent/calls/{call_a}"))
        assert pop["contact_id"] == two["contacts"][0] and pop["name"] == "Contact 0"
        assert [n["dialed"] for n in pop["numbers"]] == [False]  # the test call names no number row
        # Another agent's call, and so its contact, is out of reach: the same 404 as a call that does not exist.
        error(page_a.get(f"/agent/calls/{call_b}"), 404)
        error(page_b.get(f"/agent/calls/{call_a}"), 404)
        error(page_a.post(f"/agent/calls/{call_b}/disposition", json={"code": "sale"}), 404)
        error(page_a.get("/agent/calls/call_01J0000000000000000000000Z"), 404)

    def test_disposes_own_call_with_notes(self, two: dict[str, Any], admin: httpx.Client) -> None:
        page_a, _ = two["pages"]
        call_a = two["calls"][0]
        out = ok(page_a.post(f"/agent/calls/{call_a}/disposition", json={"code": "not_interested", "note": "has a supplier"}))
        assert out["code"] == "not_interested"
        call = ok(admin.get(f"/calls/{call_a}"))
        assert call["disposition"] == "not_interested" and call["disposition_note"] == "has a supplier"
        assert "code" in fields(error(page_a.post(f"/agent/calls/{call_a}/disposition", json={"code": "nope"}), 422))

    def test_the_screen_closes_once_the_call_is_over_and_disposed(self, two: dict[str, Any], live_api: LiveApi) -> None:
        page_a, _ = two["pages"]
        call_a = two["calls"][0]
        # The call ends; the agent is ready again, but the call stays theirs until disposed (wrap-up).
        set_columns(live_api.sessions, Call, call_a, state="ended", ended_at=datetime.now(UTC), outcome="CONNECTED")
        set_columns(live_api.sessions, Agent, two["agents"][0], state="ready", current_call_id=None)
        assert ok(page_a.get("/agent/me"))["call_id"] == call_a
        assert ok(page_a.get(f"/agent/calls/{call_a}"))["ended_at"] is not None
        ok(page_a.post(f"/agent/calls/{call_a}/disposition", json={"code": "sale"}))
        assert ok(page_a.get("/agent/me"))["call_id"] is None
        error(page_a.get(f"/agent/calls/{call_a}"), 404)

    def test_callback_for_self(self, two: dict[str, Any], admin: httpx.Client) -> None:
        page_a, page_b = two["pages"]
        due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        out = ok(page_a.post(f"/agent/calls/{two['calls'][0]}/disposition", json={"code": "callback", "callback_at": due, "note": "after 5"}))
        callback = ok(admin.get(f"/callbacks/{out['callback_id']}"))
        assert callback["agent_id"] == two["agents"][0] and callback["contact_id"] == two["contacts"][0]
        # On the owner's list, with whom to call and when; not on anyone else's.
        [mine] = ok(page_a.get("/agent/callbacks"))
        assert (mine["id"], mine["contact_name"], mine["note"], mine["source_call_id"]) == (out["callback_id"], "Contact 0", "after 5", two["calls"][0])
        assert datetime.fromisoformat(mine["due_at"]) == datetime.fromisoformat(due)
        assert mine["campaign"]["id"] == two["campaign"]["id"]
        assert ok(page_b.get("/agent/callbacks")) == []
        # The contact's history on the screen names its owner.
        [brief] = ok(page_a.get(f"/agent/calls/{two['calls'][0]}"))["callbacks"]
        assert (brief["mine"], brief["owner"], brief["status"]) == (True, ok(admin.get(f"/agents/{two['agents'][0]}"))["name"], "scheduled")

    def test_callback_for_anyone(self, two: dict[str, Any], admin: httpx.Client) -> None:
        page_a, _ = two["pages"]
        due = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        body = {"code": "callback", "callback_at": due, "callback_mine": False}
        out = ok(page_a.post(f"/agent/calls/{two['calls'][0]}/disposition", json=body))
        assert ok(admin.get(f"/callbacks/{out['callback_id']}"))["agent_id"] is None
        assert ok(page_a.get("/agent/callbacks")) == []
        [brief] = ok(page_a.get(f"/agent/calls/{two['calls'][0]}"))["callbacks"]
        assert (brief["mine"], brief["owner"]) == (False, None)
        # Given to this agent by a supervisor: now theirs.
        ok(admin.patch(f"/callbacks/{out['callback_id']}", json={"agent_id": two["agents"][0]}))
        assert [c["id"] for c in ok(page_a.get("/agent/callbacks"))] == [out["callback_id"]]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"code": "callback"}, "callback_at"),
            ({"code": "callback", "callback_at": "2020-01-01T09:00:00+00:00"}, "callback_at"),  # in the past
            ({"code": "callback", "callback_at": "tomorrow"}, "callback_at"),
            ({"code": "callback", "callback_at": "2099-01-01T09:00:00"}, "callback_at"),  # no zone
            ({"code": "sale", "callback_at": "2099-01-01T09:00:00+00:00"}, "callback_at"),  # not a callback code
            ({"code": "callback", "callback_at": "2099-01-01T09:00:00+00:00", "callback_mine": "perhaps"}, "callback_mine"),
            ({"code": "callback", "callback_at": "2099-01-01T09:00:00+00:00", "callback_agent_id": "agent_x"}, "callback_agent_id"),
        ],
    )
    def test_callback_bad_input(self, two: dict[str, Any], admin: httpx.Client, body: dict[str, Any], field: str) -> None:
        page_a, _ = two["pages"]
        assert field in fields(error(page_a.post(f"/agent/calls/{two['calls'][0]}/disposition", json=body), 422))
        assert ok(admin.get("/callbacks", params={"contact_id": two["contacts"][0]}))["items"] == [], "nothing booked"

    def test_ready_ends_wrap_up_once_disposed(self, two: dict[str, Any], live_api: LiveApi, admin: httpx.Client) -> None:
        page_a, _ = two["pages"]
        call_a, agent_a = two["calls"][0], two["agents"][0]
        set_columns(live_api.sessions, Call, call_a, state="ended", ended_at=datetime.now(UTC), outcome="CONNECTED")
        # As the engine leaves it: in wrap-up, the call just over still the agent's current one.
        set_columns(live_api.sessions, Agent, agent_a, state="wrap_up", current_call_id=call_a, pause_reason="lunch")
        refused = error(page_a.post("/agent/ready"), 409)
        assert call_a in refused["message"] and "disposition" in refused["message"]
        assert ok(admin.get(f"/agents/{agent_a}"))["state"] == "wrap_up", "nothing changed"
        ok(page_a.post(f"/agent/calls/{call_a}/disposition", json={"code": "sale"}))
        assert ok(page_a.get("/agent/me"))["call_id"] is None, "disposed and over: off the screen, still in wrap-up"
        out = ok(page_a.post("/agent/ready"))
        # Out of the queues and back (QueueRemove, QueueAdd on the next tick): ready, the pause asked for dropped.
        assert (out["state"], out["pause_reason"]) == ("ready", None)
        assert ok(page_a.get("/agent/me"))["call_id"] is None

    def test_no_admin_or_viewer_endpoint(self, two: dict[str, Any]) -> None:
        page_a, _ = two["pages"]
        for method, path in [("GET", "/agents"), ("GET", f"/campaigns/{two['campaign']['id']}"),
                             ("POST", f"/agents/{two['agents'][1]}/logout"), ("GET", f"/calls/{two['calls'][1]}"),
                             ("GET", "/events"), ("POST", f"/agents/{two['agents'][0]}/password")]:
            error(page_a.request(method, path), 403)

    def test_api_keys_do_not_reach_agent_endpoints(self, admin: httpx.Client, anon: httpx.Client) -> None:
        error(admin.get("/agent/me"), 403)
        error(anon.get("/agent/me"), 401)
        error(anon.get("/agent/me", headers={"Authorization": "Bearer olive_agent_" + "x" * 43}), 401)

    def test_pause_reason_from_the_campaigns_list(self, two: dict[str, Any], admin: httpx.Client) -> None:
        cid = two["campaign"]["id"]
        reasons = {"reasons": [{"code": "coaching", "label": "Coaching"}, {"code": "lunch", "label": "Lunch"}]}
        assert ok(admin.patch(f"/campaigns/{cid}/pause-reasons", json=reasons)) == reasons
        page_a, _ = two["pages"]
        assert [r["code"] for r in ok(page_a.get("/agent/me"))["pause_reasons"]] == ["coaching", "lunch"]
        assert "reason" in fields(error(page_a.post("/agent/pause", json={"reason": "break"}), 422))
        dup = {"reasons": [{"code": "lunch", "label": "a"}, {"code": "lunch", "label": "b"}]}
        assert "reasons" in fields(error(admin.patch(f"/campaigns/{cid}/pause-reasons", json=dup), 422))

    def test_sign_out(self, two: dict[str, Any], live_api: LiveApi) -> None:
        page_a, page_b = two["pages"]
        assert page_a.delete("/agent/session").status_code == 204
        error(page_a.get("/agent/me"), 401)
        ok(page_b.get("/agent/me"))

    def test_revoked_agent_is_signed_out(self, two: dict[str, Any], admin: httpx.Client, live_api: LiveApi) -> None:
        page_a, page_b = two["pages"]
        name = ok(page_a.get("/agent/me"))["agent"]["name"]
        assert admin.delete(f"/agents/{two['agents'][0]}/password").status_code == 204
        error(page_a.get("/agent/me"), 401)
        ok(page_b.get("/agent/me"))
        error(live_api.client().post("/agent/session", json={"name": name, "password": "anything"}), 401)
        with transaction(live_api.sessions) as s:
            ended = s.scalars(select(AgentSession).where(AgentSession.agent_id == two["agents"][0])).all()
            assert ended and all(r.ended_at is not None for r in ended)

    def test_expired_session(self, two: dict[str, Any], live_api: LiveApi) -> None:
        page_a, _ = two["pages"]
        with transaction(live_api.sessions) as s:
            for row in s.scalars(select(AgentSession).where(AgentSession.agent_id == two["agents"][0])):
                row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        error(page_a.get("/agent/me"), 401)

    def test_force_out(self, two: dict[str, Any], admin: httpx.Client) -> None:
        page_a, _ = two["pages"]
        out = ok(admin.post(f"/agents/{two['agents'][0]}/force-out"))
        assert out["pause_reason"] == "forced_out"  # on a call: kept on it, paused, signed out
        error(page_a.get("/agent/me"), 401)


class TestAgentEvents:
    @pytest.mark.parametrize(
        ("params", "headers"),
        [({"timeout_s": "0"}, {}), ({"timeout_s": "x"}, {}), ({"timeout_s": "1e9"}, {}), ({}, {"Last-Event-ID": "-1"}),
         ({}, {"Last-Event-ID": "nope"})],
    )
    def test_bad_input(self, two: dict[str, Any], params: dict[str, str], headers: dict[str, str]) -> None:
        error(two["pages"][0].get("/agent/events", params=params, headers=headers), 422)

    def test_ends_after_timeout(self, two: dict[str, Any]) -> None:
        response = two["pages"][0].get("/agent/events", params={"timeout_s": "0.2"}, headers={"Last-Event-ID": "0"})
        assert response.status_code == 200 and response.text.startswith(": olive events")

    def test_own_events_only_and_the_stream_ends_when_revoked(self, two: dict[str, Any], admin: httpx.Client) -> None:
        page_a, page_b = two["pages"]
        a, b = two["agents"]
        lines: list[str] = []
        with page_a.stream("GET", "/agent/events", timeout=20) as stream:
            assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
            ok(admin.post(f"/agents/{b}/pause", json={"reason": "lunch"}))  # the other agent's: not on this stream
            ok(admin.post(f"/agents/{a}/pause", json={"reason": "lunch"}))
            assert admin.delete(f"/agents/{a}/password").status_code == 204
            for line in stream.iter_lines():  # ends when the server closes it, after saying why
                lines.append(line)
        data = [json.loads(line[len("data: "):])["data"] for line in lines if line.startswith("data: ")]
        assert [d.get("agent_id") for d in data] == [a, a]
        assert data[0]["state"] == "paused" and data[-1]["signed_out"] is True
        error(page_a.get("/agent/events"), 401)
        ok(page_b.get("/agent/me"))

    @pytest.mark.parametrize("how", ["ended", "expired"])
    def test_the_stream_ends_when_the_session_ends_unheard(self, two: dict[str, Any], live_api: LiveApi, how: str) -> None:
        """Ended on another olive node (no event on this node's bus), or expired: the stream still ends, long
        before its ``timeout_s``, and the page's next request is 401."""
        page_a, page_b = two["pages"]
        a = two["agents"][0]
        with page_b.stream("GET", "/agent/events", params={"timeout_s": 60}, timeout=70) as other, \
                page_a.stream("GET", "/agent/events", params={"timeout_s": 60}, timeout=70) as stream:
            assert stream.status_code == 200 and other.status_code == 200
            with transaction(live_api.sessions) as s:
                for row in s.scalars(select(AgentSession).where(AgentSession.agent_id == a, AgentSession.ended_at.is_(None))):
                    if how == "ended":
                        row.ended_at = datetime.now(UTC)
                    else:
                        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
            started = time.monotonic()
            lines = list(stream.iter_lines())
            took = time.monotonic() - started
        assert took < 30, f"the stream ran {took:.1f} s: to its timeout_s (60 s), not ended by the session check"
        assert not any(line.startswith("data: ") for line in lines), "nothing was published"
        error(page_a.get("/agent/me"), 401)
        ok(page_b.get("/agent/me"))  # the other agent's stream and session go on


class TestSignInFlood:
    """Wrong names or passwords from one address are rate-limited (429, Retry-After), logged without them."""

    def test_a_flood_gets_429_and_one_log_line(self, flood_api: tuple[LiveApi, str, str], caplog: pytest.LogCaptureFixture) -> None:
        api, name, password = flood_api
        guess = "guess-" + "p" * 20
        with caplog.at_level(logging.WARNING, "olive.api"), api.client() as anon:
            for i in range(LIMIT):
                who = name if i % 2 else "nobody-" + "n" * 10  # a wrong name counts as a wrong password does
                error(anon.post("/agent/session", json={"name": who, "password": guess}), 401)
            flooded = anon.post("/agent/session", json={"name": name, "password": password})
            body = error(flooded, 429, "too_many_requests")
            assert 1 <= int(flooded.headers["retry-after"]) <= 60
            assert "too many wrong agent sign-ins" in body["message"]
            # Bad input is still a 422 (checked before the throttle), and API keys have a throttle of their own.
            error(anon.post("/agent/session", json={"name": name}), 422)
        lines = [r.getMessage() for r in caplog.records if "wrong agent sign-ins" in r.getMessage()]
        assert len(lines) == 1 and "127.0.0.1" in lines[0]
        assert guess not in caplog.text and password not in caplog.text and "nobody-" not in caplog.text

    def test_a_few_mistakes_are_not_a_flood(self, flood_api: tuple[LiveApi, str, str]) -> None:
        api, name, password = flood_api
        with api.client() as anon:
            for _ in range(LIMIT - 1):
                error(anon.post("/agent/session", json={"name": name, "password": "wrong"}), 401)
            ok(anon.post("/agent/session", json={"name": name, "password": password}), 201)
            # Signing in right does not count: the page keeps working.
            ok(anon.post("/agent/session", json={"name": name, "password": password}), 201)


@pytest.fixture
def flood_api(db_clean: SqlEngine) -> Iterator[tuple[LiveApi, str, str]]:
    """Its own server (a flood must not lock the module's shared one) and an agent with a password."""
    sessions = make_sessionmaker(db_clean)
    with transaction(sessions) as session:
        agent = Agent(name="flooded agent", interface="PJSIP/991")
        session.add(agent)
        session.flush()
        password = issue_agent_password(session, agent.id)
    api = start_live_api(sessions)
    try:
        yield api, "flooded agent", password
    finally:
        stop_live_api(api)
