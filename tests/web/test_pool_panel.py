"""The dashboard's Pool panel in a real browser (Debian's Chromium, headless, driven by Playwright).

Issue 15: "the API and dashboard show nodes, servers, units and their owners".
The pool is written to the store as the nodes write it (servers and their
health, a live node holding a unit's lease); the page reads GET /pool.
Waits are bounded ("until ... or fail"), never timed assertions.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from tests.api.conftest import Keys, LiveApi
from tests.api.helpers import make_campaign, set_columns

from olive.store import (
    Campaign,
    ServerLimits,
    acquire_units,
    record_server_view,
    register_node,
    register_servers,
    set_campaign_servers,
    transaction,
)

WAIT_MS = 20_000  # a bound for each wait in the page, not an expected duration


def _open(chromium: Any, url: str, errors: list[str]) -> tuple[Any, Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    return context, page


def test_the_pool_panel_shows_each_units_owner_and_each_servers_health(
    chromium: Any, live_api: LiveApi, keys: Keys, admin: httpx.Client
) -> None:
    from playwright.sync_api import expect

    campaign = make_campaign(admin, name="spring renewals")
    cid = campaign["id"]
    set_columns(live_api.sessions, Campaign, cid, status="running")
    now = time.time()
    with transaction(live_api.sessions) as s:
        register_servers(s, {"pbx-a": ServerLimits(max_channels=200), "pbx-b": ServerLimits()})
        set_campaign_servers(s, cid, ["pbx-a", "pbx-b"])
        register_node(s, "dialer-1", "instance-1", 600, at=now)
        # Views count for DOWN_HOLDS_S (20 s) after they are written: written ahead, they still count
        # when the page reads them, however slow the browser is.
        record_server_view(s, "pbx-a", "dialer-1", "up", at=now + 300)
        record_server_view(s, "pbx-b", "dialer-1", "down", "AMI connection lost; reconnecting", at=now + 300)
        acquire_units(s, "dialer-1", 600, limit=5, at=now)  # pbx-a's unit; pbx-b is down: nobody takes it
    errors: list[str] = []
    context, page = _open(chromium, f"{live_api.url}/dashboard#key={keys.viewer}", errors)
    try:
        expect(page.locator("#pool-card")).to_be_visible(timeout=WAIT_MS)
        held = page.locator(f'#pool-units tr[data-unit="{cid}@pbx-a"]')
        expect(held).to_contain_text("spring renewals", timeout=WAIT_MS)
        expect(held.locator("td").nth(1)).to_have_text("dialer-1")
        expect(held).to_have_attribute("data-owner", "dialer-1")
        free = page.locator(f'#pool-units tr[data-unit="{cid}@pbx-b"]')
        expect(free.locator("td").nth(1)).to_have_text("nobody")
        expect(page.locator('#pool-servers tr[data-server="pbx-b"]')).to_contain_text("AMI connection lost; reconnecting")
        expect(page.locator('#pool-servers tr[data-server="pbx-b"]')).to_have_attribute("data-health", "down")
        expect(page.locator('#pool-servers tr[data-server="pbx-a"]')).to_have_attribute("data-health", "up")
        expect(page.locator("#pool-nodes")).to_have_text("Nodes: dialer-1 (1 unit)")
        expect(page.locator('#pool-servers tr[data-server="pbx-a"]')).to_have_attribute("data-split", "no")
        expect(page.locator('#pool-servers tr[data-server="pbx-a"] .seen[data-node="dialer-1"]')).to_have_text("dialer-1 up")

        # The unit changes hands (its owner died, another node took it): the panel follows within a poll.
        with transaction(live_api.sessions) as s:
            register_node(s, "dialer-2", "instance-2", 600, at=now)
            acquire_units(s, "dialer-2", 600, limit=5, at=now + 700)  # dialer-1's lease has run out by then
        expect(held.locator("td").nth(1)).to_have_text("dialer-2", timeout=WAIT_MS)

        # dialer-2 cannot reach pbx-a while dialer-1 can: the server stays up, and the row says who disagrees.
        with transaction(live_api.sessions) as s:
            record_server_view(s, "pbx-a", "dialer-2", "down", "AMI connection lost; reconnecting", at=now + 300)
        pbx_a = page.locator('#pool-servers tr[data-server="pbx-a"]')
        expect(pbx_a).to_have_attribute("data-split", "yes", timeout=WAIT_MS)
        expect(pbx_a).to_have_attribute("data-health", "up")
        expect(pbx_a).to_contain_text("nodes disagree")
        expect(pbx_a).to_contain_text("up (dialer-2 sees it down: AMI connection lost; reconnecting)")
        expect(pbx_a.locator('.seen[data-node="dialer-2"]')).to_have_attribute("data-health", "down")
        expect(pbx_a.locator('.seen[data-node="dialer-2"]')).to_have_attribute("title", "AMI connection lost; reconnecting")
        expect(pbx_a.locator('.seen[data-node="dialer-1"]')).to_have_attribute("data-health", "up")
        assert errors == []
    finally:
        context.close()


def test_the_pool_panel_is_hidden_without_a_pool(chromium: Any, live_api: LiveApi, keys: Keys) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    context, page = _open(chromium, f"{live_api.url}/dashboard#key={keys.viewer}", errors)
    try:
        expect(page.locator("#who-text")).to_have_text("test viewer · viewer key", timeout=WAIT_MS)
        expect(page.locator("#pool")).to_contain_text("No live node.", timeout=WAIT_MS)  # rendered: /pool was read
        expect(page.locator("#pool-card")).to_be_hidden()
        assert errors == []
    finally:
        context.close()
