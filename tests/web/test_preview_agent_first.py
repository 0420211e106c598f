"""Preview mode dials agent first, over the agent's own API, against a real server and olive's simulated
Asterisk (or OLIVE_TEST_AMI's): the agent's Dial rings the agent's phone into [olive-preview], whose
Dial() calls the customer on the screen; the customer's answer connects them to that agent, and the
agent's state follows the call (ringing, on the call, then ready again). An agent whose phone does not
answer dialed nobody: the attempt is given back and the agent is paused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.api.conftest import LiveApi
from tests.api.helpers import ok
from tests.e2e.harness import REAL_AMI, agent_interface, make_campaign, number

from olive.engine._preview import AGENT_MISSED
from olive.store import Agent, Contact, transaction

from .conftest import Dialer

#: Real seconds: the simulator runs 40 times faster; a real Asterisk's customer talks 20-40 s.
WAIT_S = 90.0 if REAL_AMI else 20.0


@pytest.fixture(scope="module")
def live_api(dialer: Dialer) -> LiveApi:
    return dialer.api


@dataclass
class Desk:
    campaign_id: str
    agent_id: str
    page: httpx.Client  # signed in as the agent


def _until(check: Any, what: str, within_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + within_s
    while not (found := check()):
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.05)
    return found


@pytest.fixture
def desk(request: pytest.FixtureRequest, dialer: Dialer, admin: httpx.Client) -> Iterator[Desk]:
    """A stopped preview campaign of one contact (the test's number) and one agent (the test's extension),
    signed in on their own page and ready; the campaign started. Force-stopped after the test."""
    customer, ext = request.param
    sessions = dialer.api.sessions
    cid = make_campaign(
        sessions, name=f"agent first {ext} {customer}", contacts=[customer], agents=(ext,), status="stopped",
        dial_mode="preview",
    )
    with transaction(sessions) as s:
        agent = s.scalars(select(Agent).where(Agent.interface == agent_interface(ext))).one()
        agent.state, agent.pause_reason, agent_id, name = "logged_out", None, agent.id, agent.name
    password = ok(admin.post(f"/agents/{agent_id}/password"), 201)["password"]
    token = ok(dialer.api.client().post("/agent/session", json={"name": name, "password": password}), 201)["token"]
    page = dialer.api.client(token)
    try:
        ok(page.post("/agent/ready"))
        _until(lambda: ok(page.get("/agent/me"))["agent"]["state"] == "ready", "the agent ready")
        ok(admin.post(f"/campaigns/{cid}/start"))
        yield Desk(cid, agent_id, page)
    finally:
        admin.post(f"/campaigns/{cid}/stop", params={"force": "true"})
        admin.post(f"/agents/{agent_id}/force-out")


def _dial(desk: Desk) -> tuple[str, str]:
    """The agent dials the contact on their screen: (its contact id, the call id)."""
    card = _until(lambda: ok(desk.page.get("/agent/preview"))["preview"], "a contact on the screen")
    return card["contact_id"], ok(desk.page.post("/agent/preview/dial"))["call_id"]


def _agent_stream(desk: Desk) -> list[dict[str, Any]]:
    """The agent's events (their states, the calls connected to them), from their event stream's replay
    (the module's dialer keeps its last 500 events; the agent is this test's alone)."""
    response = desk.page.get("/agent/events", params={"timeout_s": "0.2"}, headers={"Last-Event-ID": "0"})
    assert response.status_code == 200, response.text
    return [json.loads(line[len("data: "):])["data"] for line in response.text.splitlines() if line.startswith("data: ")]


def _states(stream: list[dict[str, Any]], agent_id: str) -> list[str]:
    return [d["state"] for d in stream if d.get("agent_id") == agent_id and "state" in d]


def _ended(admin: httpx.Client, call_id: str) -> dict[str, Any]:
    call: dict[str, Any] = _until(lambda: (c := ok(admin.get(f"/calls/{call_id}")))["state"] == "ended" and c, "the call's end")
    return call


def _sim_dials(dialer: Dialer, call_id: str) -> list[tuple[str, str, str]]:
    """The simulator's DialBegin/DialEnd of the call: (event, caller channel, destination channel)."""
    core = dialer.target.pbx.core
    return [
        (e.name, e.get("Channel") or "", e.get("DestChannel") or "")
        for e in list(core.event_log)
        if e.name in ("DialBegin", "DialEnd") and e.get("DestLinkedid") == call_id
    ]


@pytest.mark.parametrize("desk", [(number(1, 841), "811")], indirect=True)
def test_the_agent_is_called_first_then_the_customer_connected_to_them(
    dialer: Dialer, admin: httpx.Client, desk: Desk
) -> None:
    contact_id, call_id = _dial(desk)
    call = _ended(admin, call_id)
    # The call was connected to the agent, then the agent was free again. At 40x the call lasts about a
    # second of real time, so this is read back from the agent's own event stream (replayed from the
    # start) rather than caught by polling. Its call events tell every new state of the agent's calls;
    # its agent events tell each tick's last state only (a loaded tick can hold the whole call: seen).
    stream = _until(
        lambda: (e := _agent_stream(desk)) and _states(e, desk.agent_id)[-1] in ("ready", "wrap_up") and e, "the agent free again"
    )
    states = [d["state"] for d in stream if d.get("call_id") == call_id]
    assert "connected" in states and states[-1] == "ended", stream  # this call, on the agent's own stream
    assert ok(desk.page.get(f"/agent/calls/{call_id}"))["contact_id"] == contact_id  # the screen pop, until disposed
    assert (call["outcome"], call["contact_id"], call["agent_id"]) == ("CONNECTED", contact_id, desk.agent_id)
    assert call["agent_interface"] == agent_interface("811") and call["dial_status"] == "ANSWER"
    assert call["answered_at"] is not None and call["agent_connected_at"] is not None
    if dialer.target.simulated:  # the Originate rang the agent; the agent's channel Dial()ed the customer
        dials = _sim_dials(dialer, call_id)
        assert dials[0] == ("DialBegin", "", dials[0][2]) and dials[0][2].startswith(agent_interface("811") + "-")
        customer = [d for d in dials if d[1].startswith(agent_interface("811") + "-")]
        assert customer[0][0] == "DialBegin" and customer[0][2].startswith(f"Local/{number(1, 841)}@olive-test-customers-")
        assert customer[-1][0] == "DialEnd"
    me = ok(desk.page.get("/agent/me"))
    assert me["agent"]["state"] in ("ready", "wrap_up") and me["agent"]["current_call_id"] is None


@pytest.mark.parametrize("desk", [(number(2, 842), "812")], indirect=True)
def test_a_busy_customer_is_busy_and_the_agent_is_free_again(dialer: Dialer, admin: httpx.Client, desk: Desk) -> None:
    contact_id, call_id = _dial(desk)
    call = _ended(admin, call_id)
    assert (call["outcome"], call["dial_status"], call["contact_id"]) == ("BUSY", "BUSY", contact_id)
    assert call["agent_connected_at"] is None and call["answered_at"] is None
    _until(lambda: ok(desk.page.get("/agent/me"))["agent"]["state"] == "ready", "the agent ready again")


@pytest.mark.parametrize("desk", [(number(1, 843), "913")], indirect=True)
def test_an_agent_who_does_not_answer_dials_nobody_and_is_paused(dialer: Dialer, admin: httpx.Client, desk: Desk) -> None:
    contact_id, call_id = _dial(desk)
    call = _ended(admin, call_id)
    assert call["outcome"] == "FAILED" and call["detail"].startswith("not placed: the agent did not answer")
    assert call["dial_status"] is None and call["answered_at"] is None
    if dialer.target.simulated:  # only the agent's phone was dialed
        dials = _sim_dials(dialer, call_id)
        assert dials and all(d[2].startswith(agent_interface("913") + "-") for d in dials)
    me = _until(lambda: (m := ok(desk.page.get("/agent/me")))["agent"]["state"] == "paused" and m, "the agent paused")
    assert me["agent"]["pause_reason"] == AGENT_MISSED
    with transaction(dialer.api.sessions) as s:  # not an attempt: the contact is due again, its attempt given back
        contact = s.get(Contact, contact_id)
        assert contact is not None and (contact.status, contact.attempts) == ("pending", 0)
