"""The agent's page in a real browser (Debian's Chromium, headless, driven by Playwright).

Two agents sign in on their own pages against a real API server whose engine
dials olive's simulated Asterisk. They go ready, each gets a call with the
right customer on screen, disposes it with notes (one schedules a callback
for themselves), one pauses with a reason from the campaign's list; the
supervisor's dashboard shows it and forces the other out; a revoked password
signs the first out. Waits are bounded ("until ... or fail").
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.api.conftest import Keys, LiveApi
from tests.api.helpers import ok
from tests.e2e.harness import QUEUE, agent_interface, make_campaign, number

from olive.store import (
    Agent,
    Contact,
    ContactNumber,
    DialList,
    Preview,
    end_agent_sessions,
    to_epoch,
    transaction,
)

from .conftest import Dialer
from .test_browser import WAIT_MS, Pages

#: OLIVE_DOCS_SCREENSHOTS=docs/img keeps the screenshot for docs/agents.md.
SCREENSHOTS = "OLIVE_DOCS_SCREENSHOTS"
CUSTOMERS = {"Ada Lovelace": {"plan": "gold", "account": "A-1001"}, "Grace Hopper": {"plan": "silver", "account": "A-1002"}}


@pytest.fixture(scope="module")
def live_api(dialer: Dialer) -> LiveApi:
    return dialer.api


@dataclass
class Floor:
    campaign_id: str
    agents: dict[str, str]  # name -> id
    passwords: dict[str, str]


@pytest.fixture
def floor(dialer: Dialer, keys: Keys, admin: httpx.Client) -> Iterator[Floor]:
    """A stopped campaign of two answering customers (each with a second number), one who never
    answers (to be tried again later: the campaign stays running), and two logged-out agents,
    each with a password; force-stopped after the test."""
    sessions = dialer.api.sessions
    cid = make_campaign(
        sessions, name="winter renewals", contacts=[number(1, 801), number(1, 802), number(3, 803)], agents=("801", "802"), status="stopped"
    )
    with transaction(sessions) as s:
        for i, (contact, name) in enumerate(zip(s.scalars(select(Contact).order_by(Contact.created_at, Contact.id)), CUSTOMERS, strict=False)):
            contact.name, contact.variables, contact.external_ref = name, CUSTOMERS[name], f"crm-{i + 1}"
            s.add(ContactNumber(contact_id=contact.id, position=1, number=number(3, 810 + i)))
        agents = {a.name: a.id for a in s.scalars(select(Agent).where(Agent.name.in_(["agent801", "agent802"])))}
        for agent in s.scalars(select(Agent).where(Agent.id.in_(agents.values()))):
            agent.state = "logged_out"
    passwords = {name: ok(admin.post(f"/agents/{id}/password"), 201)["password"] for name, id in agents.items()}
    ok(admin.patch(f"/campaigns/{cid}/pause-reasons", json={"reasons": [
        {"code": "lunch", "label": "Lunch"}, {"code": "coaching", "label": "Coaching"}, {"code": "break", "label": "Short break"}]}))
    yield Floor(cid, agents, passwords)
    admin.post(f"/campaigns/{cid}/stop", params={"force": "true"})
    for id in agents.values():
        admin.post(f"/agents/{id}/force-out")


#: The plan's after-call work in the wrap-up test: an hour of the simulator's clock (90 s of real time at
#: OLIVE_TEST_SCALE=40), far longer than any wait in the test, so a second call proves wrap-up ended early.
LONG_WRAPUP_S = 3600


@pytest.fixture
def long_wrapup(dialer: Dialer, admin: httpx.Client) -> Iterator[Floor]:
    """A stopped progressive campaign of two answering customers, one agent, and an hour's wrap-up, in olive's
    plan and (simulated) in the queue's ``wrapuptime`` as docs/asterisk-setup.md advises; both restored after."""
    sessions = dialer.api.sessions
    cid = make_campaign(
        sessions, name="quick turns", contacts=[number(1, 821), number(1, 822)], agents=("801",), status="stopped",
        wrapup_s=LONG_WRAPUP_S,
    )
    with transaction(sessions) as s:
        for i, contact in enumerate(s.scalars(select(Contact).where(Contact.dial_list_id.in_(
            select(DialList.id).where(DialList.name == "quick turns list"))).order_by(Contact.created_at, Contact.id))):
            contact.name = ("Alan Turing", "Edsger Dijkstra")[i]
        agent = s.scalars(select(Agent).where(Agent.name == "agent801")).one()
        agent.state, agent_id = "logged_out", agent.id
    password = ok(admin.post(f"/agents/{agent_id}/password"), 201)["password"]
    queue = dialer.target.pbx.queues.queues[QUEUE] if dialer.target.simulated else None
    if queue is not None:
        queue.wrapuptime = LONG_WRAPUP_S
    try:
        yield Floor(cid, {"agent801": agent_id}, {"agent801": password})
    finally:
        if queue is not None:
            queue.wrapuptime = 0
        admin.post(f"/campaigns/{cid}/stop", params={"force": "true"})
        admin.post(f"/agents/{agent_id}/force-out")


@pytest.fixture
def preview_floor(dialer: Dialer, admin: httpx.Client) -> Iterator[Floor]:
    """A stopped preview campaign of two answering customers and one logged-out agent with a password."""
    sessions = dialer.api.sessions
    cid = make_campaign(
        sessions, name="preview calls", contacts=[number(1, 831), number(1, 832)], agents=("801",), status="stopped",
        dial_mode="preview",
    )
    with transaction(sessions) as s:
        for i, contact in enumerate(s.scalars(select(Contact).where(Contact.dial_list_id.in_(
            select(DialList.id).where(DialList.name == "preview calls list"))).order_by(Contact.created_at, Contact.id))):
            contact.name, contact.variables = ("Katherine Johnson", "Dorothy Vaughan")[i], {"account": f"P-{i + 1}"}
        agent = s.scalars(select(Agent).where(Agent.name == "agent801")).one()
        agent.state, agent_id = "logged_out", agent.id
    password = ok(admin.post(f"/agents/{agent_id}/password"), 201)["password"]
    try:
        yield Floor(cid, {"agent801": agent_id}, {"agent801": password})
    finally:
        admin.post(f"/campaigns/{cid}/stop", params={"force": "true"})
        admin.post(f"/agents/{agent_id}/force-out")


@pytest.fixture
def pages(chromium: Any) -> Iterator[Pages]:
    tabs = Pages(chromium)
    yield tabs
    tabs.close()


def _members(dialer: Dialer) -> dict[str, Any]:
    """The simulated Asterisk's members of the test queue (read-only, from the test's thread)."""
    return {m.interface: m for m in list(dialer.target.pbx.queue_members(QUEUE))}


def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_MS / 1000
    while not check():
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.05)


def _keep(shot: Path) -> None:
    """With OLIVE_DOCS_SCREENSHOTS=docs/img, keep the screenshot for docs/agents.md."""
    if keep := os.environ.get(SCREENSHOTS):
        shutil.copy(shot, Path(keep) / shot.name)


#: From the page itself, with its own session token: what the server answers (status code).
_FETCH_AS_PAGE = """async ([method, path]) => {
  const token = sessionStorage.getItem("olive.agent.session");
  const response = await fetch(path, { method, headers: { Authorization: `Bearer ${token}` } });
  return response.status;
}"""


def _status(page: Any, method: str, path: str) -> int:
    status: int = page.evaluate(_FETCH_AS_PAGE, [method, path])
    return status


def _ready_when_done(page: Any) -> None:
    """The call disposed and over: ready, pressing Ready to end wrap-up early if need be."""
    from playwright.sync_api import expect

    state = page.locator("#state")
    expect(state).to_have_attribute("data-state", re.compile("ready|wrap_up"), timeout=WAIT_MS)
    if state.get_attribute("data-state") == "wrap_up":
        page.get_by_role("button", name="Ready").click()
    expect(state).to_have_attribute("data-state", "ready", timeout=WAIT_MS)


def _sign_in(pages: Pages, url: str, name: str, password: str) -> Any:
    from playwright.sync_api import expect

    page = pages.open(f"{url}/agent", width=1100)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who-text")).to_have_text(name)
    expect(page.locator("#state")).to_have_attribute("data-state", "logged_out")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    assert password not in page.url and page.evaluate("Object.values(sessionStorage)")[0].startswith("olive_agent_")
    return page


class TestAgentPage:
    def test_an_agents_day(
        self, pages: Pages, dialer: Dialer, floor: Floor, keys: Keys, admin: httpx.Client, tmp_path: Path
    ) -> None:
        from playwright.sync_api import expect

        live_api = dialer.api
        # A wrong password is refused clearly.
        page = pages.open(f"{live_api.url}/agent")
        page.get_by_label("Your name").fill("agent801")
        page.get_by_label("Password").fill("not-it")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#signin-error")).to_have_text("The name or the password is wrong.")
        page.locator("#signin").screenshot(path=str(tmp_path / "agent-signin.png"))
        _keep(tmp_path / "agent-signin.png")

        ann = _sign_in(pages, live_api.url, "agent801", floor.passwords["agent801"])
        bob = _sign_in(pages, live_api.url, "agent802", floor.passwords["agent802"])
        expect(ann.locator("#campaigns")).to_contain_text("winter renewals (stopped)")
        expect(ann.locator("#pause-reason option")).to_have_text(["Lunch", "Coaching", "Short break"])

        # Both go ready from their pages: olive logs them in (QueueAdd once the campaign runs).
        for page in (ann, bob):
            page.get_by_role("button", name="Ready").click()
            expect(page.locator("#state")).to_have_attribute("data-state", "ready")
            expect(page.locator("#notice")).to_contain_text("You are ready")
        assert {ok(admin.get(f"/agents/{id}"))["state"] for id in floor.agents.values()} == {"ready"}

        # The campaign starts; each agent's page pops their own customer.
        ok(admin.post(f"/campaigns/{floor.campaign_id}/start"))
        if dialer.target.simulated:  # the page's Ready put both phones in the campaign's queue (QueueAdd)
            _until(lambda: {agent_interface("801"), agent_interface("802")} <= set(_members(dialer)), "QueueAdd")
        seen: dict[str, str] = {}
        for name, page in (("agent801", ann), ("agent802", bob)):
            expect(page.locator("#call")).to_be_visible(timeout=WAIT_MS)
            call_id = page.locator("#call").get_attribute("data-call")
            assert call_id
            call = ok(admin.get(f"/calls/{call_id}"))
            assert call["agent_id"] == floor.agents[name]
            with transaction(live_api.sessions) as s:
                contact = s.get(Contact, call["contact_id"])
                assert contact is not None
                customer = contact.name or ""
            expect(page.locator("#c-name")).to_have_text(customer)
            expect(page.locator("#c-number")).to_have_text(call["number"])
            expect(page.locator("#c-numbers li")).to_have_count(2)
            expect(page.locator("#c-numbers li[data-dialed]")).to_contain_text(call["number"])
            expect(page.locator("#c-fields")).to_contain_text(CUSTOMERS[customer]["account"])
            expect(page.locator(f"#c-history tr[data-call='{call_id}']")).to_be_visible()
            seen[name] = customer
        assert sorted(seen.values()) == sorted(CUSTOMERS), "each agent got a different customer"
        ann.screenshot(path=str(tmp_path / "agent.png"), full_page=True)
        _keep(tmp_path / "agent.png")

        # From Ann's own page (her token, in Chromium): Bob's call and customer are out of reach, and so is
        # every admin or viewer endpoint; her own call answers.
        ann_call = ann.locator("#call").get_attribute("data-call")
        bob_call = bob.locator("#call").get_attribute("data-call")
        bob_contact = ok(admin.get(f"/calls/{bob_call}"))["contact_id"]
        dial_list = ok(admin.get(f"/campaigns/{floor.campaign_id}"))["dial_list_ids"][0]
        assert _status(ann, "GET", f"/agent/calls/{ann_call}") == 200
        assert _status(ann, "GET", f"/agent/calls/{bob_call}") == 404, "the same answer as for a call that does not exist"
        assert _status(ann, "POST", f"/agent/calls/{bob_call}/disposition") in (404, 422)
        for method, path in [
            ("GET", f"/dial-lists/{dial_list}/contacts/{bob_contact}"), ("GET", f"/calls/{bob_call}"),
            ("GET", "/agents"), ("POST", f"/agents/{floor.agents['agent802']}/force-out"),
            ("GET", "/callbacks"), ("GET", "/events"), ("GET", "/dashboard/whoami"),
        ]:
            assert _status(ann, method, path) == 403, (method, path)
        assert ok(admin.get(f"/agents/{floor.agents['agent802']}"))["state"] != "logged_out", "the force-out was refused"

        # Wrap-up: Ann sells, Bob books a callback for himself; the screens clear once the calls are over.
        ann.get_by_label("Disposition").select_option("sale")
        ann.get_by_label("Notes").fill("Renewed on the gold plan")
        ann.get_by_role("button", name="Save disposition").click()
        bob.get_by_label("Disposition").select_option("callback")
        expect(bob.locator("#callback")).to_be_visible()
        due = (datetime.now().astimezone() + timedelta(days=1)).replace(second=0, microsecond=0)
        bob.get_by_label("When").fill(due.strftime("%Y-%m-%dT%H:%M"))
        bob.get_by_label("Notes").fill("Call back after 5 pm")
        expect(bob.get_by_label("For me")).to_be_checked()
        bob.locator(".wrapup").screenshot(path=str(tmp_path / "agent-callback.png"))
        _keep(tmp_path / "agent-callback.png")
        bob.get_by_role("button", name="Save disposition").click()
        for page in (ann, bob):
            expect(page.locator("#notice")).to_have_text("Disposition saved.")
            expect(page.locator("#waiting")).to_be_visible(timeout=WAIT_MS)
            expect(page.locator("#call")).to_be_hidden()
        sold = ok(admin.get(f"/calls/{ann_call}"))
        assert (sold["disposition"], sold["disposition_note"], sold["disposition_by"]) == ("sale", "Renewed on the gold plan", "agent801")
        booked = ok(admin.get(f"/calls/{bob_call}"))
        assert (booked["disposition"], booked["disposition_note"]) == ("callback", "Call back after 5 pm")
        callbacks = ok(admin.get("/callbacks", params={"campaign_id": floor.campaign_id}))["items"]
        assert [(c["agent_id"], datetime.fromisoformat(c["due_at"])) for c in callbacks] == [(floor.agents["agent802"], due)]
        # Bob's page lists it under his callbacks, with whom to call; Ann's does not.
        mine = bob.locator(f"#my-callbacks tr[data-callback='{callbacks[0]['id']}']")
        expect(mine).to_contain_text(seen["agent802"])
        expect(mine).to_contain_text("Call back after 5 pm")
        expect(ann.locator("#my-callbacks")).to_have_text("No callbacks booked for you.")

        # Ann pauses for lunch; the supervisor's dashboard shows it, and forces Bob out.
        ann.get_by_label("Pause reason").select_option("lunch")
        ann.get_by_role("button", name="Pause").click()
        expect(ann.locator("#state")).to_have_attribute("data-state", "paused")
        expect(ann.locator("#reason")).to_have_text("reason: lunch")
        assert ok(admin.get(f"/agents/{floor.agents['agent801']}"))["pause_reason"] == "lunch"
        if dialer.target.simulated:  # QueuePause with the reason
            _until(lambda: (_members(dialer)[agent_interface("801")].paused, _members(dialer)[agent_interface("801")].reason) == (True, "lunch"), "QueuePause")
        board = pages.open(f"{live_api.url}/dashboard#key={keys.admin}")
        board.get_by_label("Campaign", exact=True).select_option(floor.campaign_id)
        ann_row = board.locator(f"#agents tr[data-agent='{floor.agents['agent801']}']")
        expect(ann_row).to_have_attribute("data-state", "paused", timeout=WAIT_MS)
        expect(ann_row).to_contain_text("lunch")
        board.locator("#agents").screenshot(path=str(tmp_path / "agent-supervisor.png"))
        _keep(tmp_path / "agent-supervisor.png")
        board.get_by_role("button", name="Force agent802 out").click()
        forced = time.monotonic()
        expect(board.locator("#action-msg")).to_have_text("agent802 was forced out.")
        expect(bob.locator("#signin")).to_be_visible(timeout=WAIT_MS)
        print(f"\nforce-out: Bob's page showed the sign-in form {time.monotonic() - forced:.2f} s after the click")
        expect(bob.locator("#signin-error")).to_contain_text("You were signed out: a supervisor ended your session")
        assert ok(admin.get(f"/agents/{floor.agents['agent802']}"))["state"] == "logged_out"
        if dialer.target.simulated:  # QueueRemove
            _until(lambda: agent_interface("802") not in _members(dialer), "QueueRemove")
        expect(board.locator(f"#agents tr[data-agent='{floor.agents['agent802']}']")).to_have_attribute(
            "data-state", "logged_out", timeout=WAIT_MS
        )

        # A revoked password signs Ann out at once, and she cannot sign in again with it.
        revoked = time.monotonic()
        assert admin.delete(f"/agents/{floor.agents['agent801']}/password").status_code == 204
        expect(ann.locator("#signin")).to_be_visible(timeout=WAIT_MS)
        print(f"revoke: Ann's page showed the sign-in form {time.monotonic() - revoked:.2f} s after DELETE /agents/{{id}}/password")
        expect(ann.locator("#signin-error")).to_contain_text("You were signed out")
        assert ann.evaluate("sessionStorage.length") == 0
        ann.get_by_label("Your name").fill("agent801")
        ann.get_by_label("Password").fill(floor.passwords["agent801"])
        ann.get_by_role("button", name="Sign in").click()
        expect(ann.locator("#signin-error")).to_have_text("The name or the password is wrong.")
        assert pages.errors == []

    def test_log_out_from_the_page(self, pages: Pages, live_api: LiveApi, floor: Floor, admin: httpx.Client) -> None:
        from playwright.sync_api import expect

        page = _sign_in(pages, live_api.url, "agent801", floor.passwords["agent801"])
        page.get_by_role("button", name="Ready").click()
        expect(page.locator("#state")).to_have_attribute("data-state", "ready")
        page.get_by_role("button", name="Log out").click()
        expect(page.locator("#signin")).to_be_visible()
        expect(page.locator("#notice")).to_have_text("You are logged out. See you next time.")
        assert ok(admin.get(f"/agents/{floor.agents['agent801']}"))["state"] == "logged_out"
        assert page.evaluate("sessionStorage.length") == 0
        assert pages.errors == []

    def test_ready_ends_wrap_up_early(
        self, pages: Pages, dialer: Dialer, long_wrapup: Floor, admin: httpx.Client, tmp_path: Path
    ) -> None:
        from playwright.sync_api import expect

        floor = long_wrapup
        page = _sign_in(pages, dialer.api.url, "agent801", floor.passwords["agent801"])
        page.get_by_role("button", name="Ready").click()
        expect(page.locator("#state")).to_have_attribute("data-state", "ready")
        ok(admin.post(f"/campaigns/{floor.campaign_id}/start"))

        # The first customer; the call ends and the agent is in wrap-up for the plan's hour.
        expect(page.locator("#call")).to_be_visible(timeout=WAIT_MS)
        first = page.locator("#call").get_attribute("data-call")
        expect(page.locator("#state")).to_have_attribute("data-state", "wrap_up", timeout=WAIT_MS)
        expect(page.locator("#reason")).to_contain_text("press Ready once you are done")
        # Ready before the disposition is refused, and says why; nothing changes.
        page.get_by_role("button", name="Ready").click()
        expect(page.locator("#banner")).to_contain_text(f"save a disposition for call {first} first")
        expect(page.locator("#state")).to_have_attribute("data-state", "wrap_up")

        page.get_by_label("Disposition").select_option("sale")
        page.get_by_role("button", name="Save disposition").click()
        expect(page.locator("#waiting")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#state")).to_have_attribute("data-state", "wrap_up")
        page.locator(".me").screenshot(path=str(tmp_path / "agent-wrapup.png"))
        _keep(tmp_path / "agent-wrapup.png")
        ended = ok(admin.get(f"/calls/{first}"))["ended_at"]
        assert ended is not None

        # Done early: Ready; the agent leaves the queue and comes back, and the next customer pops.
        page.get_by_role("button", name="Ready").click()
        expect(page.locator("#notice")).to_contain_text("You are ready")
        expect(page.locator("#call")).to_be_visible(timeout=WAIT_MS)
        second = page.locator("#call").get_attribute("data-call")
        assert second and second != first
        call = ok(admin.get(f"/calls/{second}"))
        assert call["agent_id"] == floor.agents["agent801"]
        # Well inside the hour of wrap-up, on the clock olive and the simulator share.
        connected = datetime.fromisoformat(call["agent_connected_at"])
        assert to_epoch(connected) - to_epoch(datetime.fromisoformat(ended)) < LONG_WRAPUP_S / 4
        names = {ok(admin.get(f"/calls/{c}"))["contact_id"] for c in (first, second)}
        assert len(names) == 2, "the second call is the other customer"
        expect(page.locator("#c-name")).to_have_text(re.compile("Alan Turing|Edsger Dijkstra"))
        assert pages.errors == []

    def test_signed_out_on_another_node(self, pages: Pages, live_api: LiveApi, floor: Floor) -> None:
        """A force-out or revoke on another olive node publishes nothing on this node's bus: the page's
        event stream still ends within SESSION_CHECK_S and the page shows the sign-in form."""
        from playwright.sync_api import expect

        page = _sign_in(pages, live_api.url, "agent802", floor.passwords["agent802"])
        with transaction(live_api.sessions) as s:
            end_agent_sessions(s, floor.agents["agent802"])
        ended = time.monotonic()
        expect(page.locator("#signin")).to_be_visible(timeout=WAIT_MS)
        print(f"\nended elsewhere: the page showed the sign-in form {time.monotonic() - ended:.2f} s after the session ended")
        expect(page.locator("#signin-error")).to_contain_text("You were signed out")
        assert page.evaluate("sessionStorage.length") == 0
        assert pages.errors == []

    def test_a_callback_for_me_comes_back_to_me(self, pages: Pages, dialer: Dialer, floor: Floor, admin: httpx.Client) -> None:
        """Bob books a callback for himself a few minutes ahead (on the clock olive and the simulator share) and
        pauses; Ann is free all along. When it is due it waits for Bob, and once he is ready it rings him, not Ann:
        the customer pops on his page (the call waits in olive-callbacks for his penalty alone)."""
        from playwright.sync_api import expect

        ann = _sign_in(pages, dialer.api.url, "agent801", floor.passwords["agent801"])
        bob = _sign_in(pages, dialer.api.url, "agent802", floor.passwords["agent802"])
        for page in (ann, bob):
            page.get_by_role("button", name="Ready").click()
            expect(page.locator("#state")).to_have_attribute("data-state", "ready")
        ok(admin.post(f"/campaigns/{floor.campaign_id}/start"))
        for page in (ann, bob):
            expect(page.locator("#call")).to_be_visible(timeout=WAIT_MS)
        bob_call = bob.locator("#call").get_attribute("data-call")
        contact_id = ok(admin.get(f"/calls/{bob_call}"))["contact_id"]

        # Bob: a callback for himself, three to four minutes ahead of olive's clock; then a pause.
        clock = dialer.target.clock
        due = datetime.fromtimestamp(clock.now() + 180).astimezone().replace(second=0, microsecond=0) + timedelta(minutes=1)
        bob.get_by_label("Disposition").select_option("callback")
        bob.get_by_label("When").fill(due.strftime("%Y-%m-%dT%H:%M"))
        bob.get_by_label("Notes").fill("Wants to hear from Bob again")
        expect(bob.get_by_label("For me")).to_be_checked()
        bob.get_by_role("button", name="Save disposition").click()
        expect(bob.locator("#notice")).to_have_text("Disposition saved.")
        ann.get_by_label("Disposition").select_option("sale")
        ann.get_by_role("button", name="Save disposition").click()
        expect(ann.locator("#notice")).to_have_text("Disposition saved.")
        for page in (ann, bob):  # done with wrap-up (an earlier test may have left the tracker an hour of it)
            _ready_when_done(page)
        bob.get_by_label("Pause reason").select_option("coaching")
        bob.get_by_role("button", name="Pause").click()
        expect(bob.locator("#state")).to_have_attribute("data-state", "paused", timeout=WAIT_MS)

        # Due, and Ann free: it waits for Bob all the same.
        def callback_calls() -> list[dict[str, Any]]:
            items = ok(admin.get("/calls", params={"contact_id": contact_id}))["items"]
            return [c for c in items if c["id"] != bob_call]

        _until(lambda: clock.now() > due.timestamp() + 60, "the callback due a minute ago")
        # Ann may be finishing another contact's call: wait until she is free, then look.
        expect(ann.locator("#state")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
        assert callback_calls() == [], "dialed while its owner was paused"

        # Bob is ready: it rings him, and his page shows the customer again.
        bob.get_by_role("button", name="Ready").click()
        expect(bob.locator("#call")).to_be_visible(timeout=WAIT_MS)
        again = bob.locator("#call").get_attribute("data-call")
        assert again and again != bob_call
        call = ok(admin.get(f"/calls/{again}"))
        assert (call["contact_id"], call["agent_id"]) == (contact_id, floor.agents["agent802"])
        expect(bob.locator("#c-history")).to_contain_text("Wants to hear from Bob again")
        assert ann.locator("#call").get_attribute("data-call") != again
        if dialer.target.simulated:  # it waited in the callbacks queue, where both are members, each with a penalty
            callbacks = {m.interface: m.penalty for m in dialer.target.pbx.queue_members("olive-callbacks")}
            assert set(callbacks) == {agent_interface("801"), agent_interface("802")}
            assert len(set(callbacks.values())) == 2
        assert pages.errors == []

    def test_preview_dials_and_skips(
        self, pages: Pages, dialer: Dialer, preview_floor: Floor, admin: httpx.Client, tmp_path: Path
    ) -> None:
        """Preview mode: the page shows the next contact; Skip needs a reason and brings the next one; Dial calls
        the customer and puts them through to this agent, whose page pops the call."""
        from playwright.sync_api import expect

        floor = preview_floor
        page = _sign_in(pages, dialer.api.url, "agent801", floor.passwords["agent801"])
        page.get_by_role("button", name="Ready").click()
        expect(page.locator("#state")).to_have_attribute("data-state", "ready")
        ok(admin.post(f"/campaigns/{floor.campaign_id}/start"))

        card = page.locator("#preview")
        expect(card).to_be_visible(timeout=WAIT_MS)
        first = card.get_attribute("data-contact")
        expect(page.locator("#p-name")).to_have_text(re.compile("Katherine Johnson|Dorothy Vaughan"))
        expect(page.locator("#p-fields")).to_contain_text("P-")
        page.screenshot(path=str(tmp_path / "agent-preview.png"), full_page=True)
        _keep(tmp_path / "agent-preview.png")
        assert ok(admin.get("/calls", params={"campaign_id": floor.campaign_id}))["items"] == [], "nothing dialed by itself"

        # Skip asks why; with a reason the next contact comes.
        page.get_by_role("button", name="Skip").click()
        expect(page.locator("#banner")).to_contain_text("Say why you skip this contact")
        page.get_by_label("Skip reason").fill("asked to be emailed first")
        page.get_by_role("button", name="Skip").click()
        expect(card).not_to_have_attribute("data-contact", first or "", timeout=WAIT_MS)
        second = card.get_attribute("data-contact")
        assert second and second != first
        with transaction(dialer.api.sessions) as s:
            skipped = s.scalars(select(Preview).where(Preview.contact_id == first)).one()
            assert (skipped.status, skipped.reason) == ("skipped", "asked to be emailed first")

        # Dial: the customer is called, answers, and comes to this agent; the page pops the call.
        page.get_by_role("button", name="Dial").click()
        expect(page.locator("#call")).to_be_visible(timeout=WAIT_MS)
        expect(card).to_be_hidden()
        call_id = page.locator("#call").get_attribute("data-call")
        call = ok(admin.get(f"/calls/{call_id}"))
        assert (call["contact_id"], call["agent_id"]) == (second, floor.agents["agent801"])
        expect(page.locator("#c-fields")).to_contain_text("P-")
        assert pages.errors == []
