"""The dashboard's "By server" table in a real browser (Debian's Chromium, headless, driven by Playwright).

Issue 15: on a ``--scale-out`` node, ``GET /campaigns/{id}/stats`` carries
``units``, each server's figures as the node holding its unit published them;
``olive campaign stats`` prints them by server, and so does the dashboard's
campaign view. The figures are written to ``unit_live`` as the units' engines
write them (``publish_unit_live``, under each unit's lease); the page is served
by an API whose engine is a ``PoolView``, a node holding none of the units.
Waits are bounded ("until ... or fail"), never timed assertions.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from tests.api.conftest import Keys, LiveApi, start_live_api, stop_live_api
from tests.api.helpers import make_campaign, set_columns

from olive.engine import CampaignStatus
from olive.engine._live import live_figures
from olive.engine._runner import CampaignCounters
from olive.engine._unit import NotDialing
from olive.engine._unit_hangup import PoolView
from olive.pacing import WindowStats
from olive.store import (
    Campaign,
    ServerLimits,
    acquire_units,
    publish_unit_live,
    register_servers,
    set_campaign_servers,
    transaction,
)

from .test_browser import WAIT_MS, Pages

TTL_S = 600.0
HOSTILE = '<img src=x onerror="window.__owned = 1">'


def figures(dials: int, connects: int, note: str, decision: tuple[int, str]) -> dict[str, Any]:
    counters = CampaignCounters({"CONNECTED": connects}, 3600.0, 1800.0, 1200.0, connects, dials)
    status = CampaignStatus("c", note, counters, "progressive", {}, decision, (WindowStats(None, connects, 0),))
    return live_figures(status)


def test_the_campaign_view_shows_each_servers_figures_on_a_scale_out_node(
    chromium: Any, live_api: LiveApi, keys: Keys, admin: httpx.Client
) -> None:
    from playwright.sync_api import expect

    cid = make_campaign(admin, name="spring renewals")["id"]
    set_columns(live_api.sessions, Campaign, cid, status="running")
    now = time.time()
    with transaction(live_api.sessions) as s:
        register_servers(s, {"pbx-a": ServerLimits(), "pbx-b": ServerLimits()})
        set_campaign_servers(s, cid, ["pbx-a", "pbx-b"])
        (a,) = acquire_units(s, "dialer-1", TTL_S, limit=1, only_servers=["pbx-a"], at=now)
        # dialer-2 held pbx-b an hour ago and published then; its lease ran out, dialer-3 holds it now.
        (b,) = acquire_units(s, "dialer-2", TTL_S, limit=1, only_servers=["pbx-b"], at=now - 4000)
    with transaction(live_api.sessions) as s:
        publish_unit_live(s, b, figures(9, 4, "running", (2, "2 idle agents")), at=now - 3600)
    with transaction(live_api.sessions) as s:
        acquire_units(s, "dialer-3", TTL_S, limit=1, only_servers=["pbx-b"], at=now)
        publish_unit_live(s, a, figures(1234, 56, f"dialing {HOSTILE}", (3, f"3 idle agents {HOSTILE}")))

    def node_c() -> PoolView:  # holds nothing; only the hour-old figures are stale, however slow this machine is
        return PoolView(live_api.sessions, {}, tick_s=0.5, lease=NotDialing(live_api.sessions, "dialer-c"),
                        stale_after_s=600.0)

    api = start_live_api(live_api.sessions, engine_factory=node_c)
    tabs = Pages(chromium)
    try:
        page = tabs.open(f"{api.url}/dashboard#key={keys.viewer}")
        expect(page.locator("#c-name")).to_have_text("spring renewals", timeout=WAIT_MS)
        expect(page.locator("#units-card")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#h-units")).to_contain_text("By server")
        headers = page.locator("#units-table thead th")
        expect(headers).to_have_text(
            ["Server", "Node", "Figures", "Dials", "Connects", "Occupancy", "Last decision", "Note"])
        for i in range(8):
            expect(headers.nth(i)).to_have_attribute("scope", "col")

        live = page.locator('#units-table tr[data-server="pbx-a"]')
        expect(live).to_have_attribute("data-stale", "no", timeout=WAIT_MS)
        expect(live.locator("th")).to_have_attribute("scope", "row")
        cells = live.locator("td")
        expect(cells.nth(0)).to_have_text("dialer-1")
        expect(cells.nth(1)).to_have_text(re.compile(r"^live, \d+ s old$"))
        expect(cells.nth(2)).to_have_text("1,234")
        expect(cells.nth(3)).to_have_text("56")
        expect(cells.nth(4)).to_have_text("50.0%")
        expect(cells.nth(5)).to_have_text(f"3: 3 idle agents {HOSTILE}")  # shown as text, never parsed as HTML
        expect(cells.nth(6)).to_have_text(f"dialing {HOSTILE}")
        expect(page.locator("#units-table img")).to_have_count(0)

        stale = page.locator('#units-table tr[data-server="pbx-b"]')
        expect(stale).to_have_attribute("data-stale", "yes")
        expect(stale.locator("td").nth(0)).to_have_text("dialer-2")
        expect(stale.locator("td").nth(1)).to_contain_text("stale, ")
        expect(stale.locator("td").nth(1)).to_contain_text(" s old; held by dialer-3")
        expect(stale.locator("td").nth(2)).to_have_text("9")
        expect(stale.locator("td").nth(5)).to_have_text("2: 2 idle agents")
        assert page.evaluate("window.__owned") is None
        assert tabs.errors == []
    finally:
        tabs.close()
        stop_live_api(api)


def test_the_by_server_table_is_hidden_without_units(
    chromium: Any, live_api: LiveApi, keys: Keys, admin: httpx.Client
) -> None:
    from playwright.sync_api import expect

    make_campaign(admin, name="one server")
    tabs = Pages(chromium)
    try:
        page = tabs.open(f"{live_api.url}/dashboard#key={keys.viewer}")
        expect(page.locator("#c-name")).to_have_text("one server", timeout=WAIT_MS)
        expect(page.locator("#contacts")).not_to_be_empty()  # the stats were read and drawn
        expect(page.locator("#units-card")).to_be_hidden()
        assert tabs.errors == []
    finally:
        tabs.close()
