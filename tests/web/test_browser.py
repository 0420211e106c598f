"""The dashboard in a real browser (Debian's Chromium, headless, driven by Playwright).

The page talks to a real API server on loopback whose engine dials olive's
simulated Asterisk, over a real SQLite database. Waits are bounded ("until
... or fail"), never timed assertions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.conftest import Keys, LiveApi
from tests.api.helpers import ok
from tests.e2e.harness import make_campaign, number

from .conftest import Dialer

WAIT_MS = 20_000  # a bound for each wait in the page, not an expected duration
# Mostly customers who answer and talk (20-40 s, at 40x), a few busy, unanswered and abandoned.
KINDS = [1, 1, 2, 1, 3, 1, 1, 5, 1, 4]


@pytest.fixture(scope="module")
def live_api(dialer: Dialer) -> LiveApi:
    return dialer.api


@pytest.fixture
def campaign(dialer: Dialer, keys: Keys) -> Iterator[str]:
    """A stopped campaign of 300 contacts and three ready agents; force-stopped after the test."""
    contacts = [number(KINDS[i % len(KINDS)], i) for i in range(300)]
    cid = make_campaign(dialer.api.sessions, name="spring renewals", contacts=contacts, agents=("101", "102", "103"), status="stopped")
    yield cid
    with dialer.api.client(keys.admin) as admin:
        admin.post(f"/campaigns/{cid}/stop", params={"force": "true"})


def _status(client: httpx.Client, cid: str) -> str:
    status: str = ok(client.get(f"/campaigns/{cid}"))["status"]
    return status


class Pages:
    """Browser tabs, each in its own context (its own sessionStorage); JavaScript errors collected."""

    def __init__(self, chromium: Any) -> None:
        self.chromium = chromium
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def open(self, url: str, width: int = 1280) -> Any:
        context = self.chromium.new_context(viewport={"width": width, "height": 900})
        context.set_default_timeout(WAIT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.goto(url)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(chromium: Any) -> Iterator[Pages]:
    tabs = Pages(chromium)
    yield tabs
    tabs.close()


class TestDashboard:
    def test_watch_and_drive_a_campaign(
        self, pages: Pages, live_api: LiveApi, campaign: str, keys: Keys, admin: httpx.Client, tmp_path: Path
    ) -> None:
        from playwright.sync_api import expect

        page = pages.open(f"{live_api.url}/dashboard#key={keys.admin}")

        # The key came in the fragment, went to sessionStorage, and left the address bar.
        expect(page.locator("#who-text")).to_have_text("test admin · admin key", timeout=WAIT_MS)
        assert "key=" not in page.url and keys.admin not in page.url
        stored = page.evaluate("Object.values(sessionStorage)")
        assert keys.admin in stored and all(v == keys.admin or v.startswith("camp_") for v in stored), stored

        # Pick the campaign: stopped, its agents ready, Start the only way forward.
        option = page.locator(f"#campaign option[value='{campaign}']")
        expect(option).to_have_text("spring renewals — stopped", timeout=WAIT_MS)
        page.get_by_label("Campaign", exact=True).select_option(campaign)
        status = page.locator("#c-status")
        expect(page.locator("#c-name")).to_have_text("spring renewals", timeout=WAIT_MS)
        expect(status).to_have_text("stopped", timeout=WAIT_MS)
        expect(page.locator("#agents tbody tr")).to_have_count(3, timeout=WAIT_MS)
        expect(page.locator("#agents tr[data-state='ready']")).to_have_count(3, timeout=WAIT_MS)
        expect(page.locator("#contacts")).to_contain_text("300", timeout=WAIT_MS)
        expect(page.get_by_role("button", name="Pause")).to_be_disabled()

        # Start from the page: the engine dials, and the page follows it live.
        page.get_by_role("button", name="Start").click()
        expect(status).to_have_text("running", timeout=WAIT_MS)
        assert _status(admin, campaign) == "running"
        expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        expect(page.locator("#agents tr[data-state='on_call']").first).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#feed li[data-outcome='CONNECTED']").first).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#outcomes tr[data-outcome='CONNECTED']")).to_be_visible(timeout=WAIT_MS)
        total = page.locator("#calls-total")
        before = total.inner_text()
        expect(total).not_to_have_text(before, timeout=WAIT_MS)  # the figures move while we watch
        assert int(total.inner_text().replace(",", "")) > int(before.replace(",", "")) >= 1
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        # Pause and resume from the page; the API agrees each time.
        page.get_by_role("button", name="Pause").click()
        expect(status).to_have_text("paused", timeout=WAIT_MS)
        expect(page.locator("#action-msg")).to_have_text("Paused.")
        assert _status(admin, campaign) == "paused"
        page.get_by_role("button", name="Resume").click()
        expect(status).to_have_text("running", timeout=WAIT_MS)
        assert _status(admin, campaign) == "running"

        # A forced stop asks first; cancelling changes nothing.
        page.get_by_role("button", name="Force stop…").click()
        dialog = page.get_by_role("dialog", name="Force stop?")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        assert _status(admin, campaign) == "running"
        page.get_by_role("button", name="Force stop…").click()
        dialog.get_by_role("button", name="Hang up and stop").click()
        expect(status).to_have_text("stopped", timeout=WAIT_MS)
        expect(page.locator("#action-msg")).to_have_text(re.compile(r"Stopped; calls hung up: \d+\."))
        assert _status(admin, campaign) == "stopped"
        assert pages.errors == []

    def test_viewers_watch_without_controls(
        self, pages: Pages, live_api: LiveApi, campaign: str, keys: Keys, admin: httpx.Client
    ) -> None:
        from playwright.sync_api import expect

        page = pages.open(f"{live_api.url}/dashboard#key={keys.viewer}", width=820)
        expect(page.locator("#who-text")).to_have_text("test viewer · viewer key", timeout=WAIT_MS)
        # issue 13: the dashboard opened on "Choose a campaign…"; it now opens on one.
        expect(page.get_by_label("Campaign", exact=True)).to_have_value(campaign, timeout=WAIT_MS)
        expect(page.locator("#c-status")).to_have_text("stopped", timeout=WAIT_MS)
        expect(page.locator("#controls")).to_be_hidden()
        expect(page.get_by_role("button", name="Start")).to_have_count(0)
        expect(page.locator("#readonly")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling on a tablet"

        # Were the controls shown anyway, the API would refuse, and the page would say why.
        page.locator("#controls").evaluate("el => { el.hidden = false; }")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#action-msg")).to_contain_text("can only read", timeout=WAIT_MS)
        assert _status(admin, campaign) == "stopped"
        assert pages.errors == []

    def test_a_wrong_key_is_refused_clearly(self, pages: Pages, live_api: LiveApi, keys: Keys) -> None:
        from playwright.sync_api import expect

        page = pages.open(f"{live_api.url}/dashboard#key=olive_not-a-real-key-00000000")
        expect(page.locator("#login-error")).to_contain_text("not accepted", timeout=WAIT_MS)
        expect(page.locator("#board")).to_be_hidden()
        assert page.evaluate("sessionStorage.length") == 0

        page.get_by_label("API key").fill(keys.viewer)
        page.get_by_role("button", name="Open").click()
        expect(page.locator("#who-text")).to_have_text("test viewer · viewer key", timeout=WAIT_MS)
        expect(page.locator("#login")).to_be_hidden()
        assert pages.errors == []
