"""The dashboard's tests: the route over HTTP, and the page in a real browser.

``live_api``, ``keys``, ``admin``, ``viewer`` and ``anon`` are the API suite's
(tests/api/conftest.py): a real server on loopback over a real SQLite
database. ``dialer`` adds olive's simulated Asterisk (tests/e2e/harness.py)
and an engine that dials it. ``chromium`` is Debian's Chromium driven by
Playwright; without it the browser test is skipped and says how to install it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as SqlEngine
from tests.api.conftest import (  # noqa: F401
    LiveApi,
    admin,
    anon,
    keys,
    live_api,
    start_live_api,
    stop_live_api,
    viewer,
)
from tests.e2e.harness import Target, start_target, stop_target

from olive.compliance import AllowAll
from olive.engine import Engine
from olive.store import make_sessionmaker

CHROMIUM = Path(os.environ.get("OLIVE_TEST_CHROMIUM", "/usr/bin/chromium"))
#: Headless, and nothing that reaches for the network (this machine has none).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def db_backend() -> str:
    """The dashboard only reads the API: SQLite is enough (the API suite covers PostgreSQL)."""
    return "sqlite"


@dataclass
class Dialer:
    """The API and its engine, dialing olive's simulated Asterisk (or OLIVE_TEST_AMI's)."""

    api: LiveApi
    target: Target


@pytest.fixture(scope="module")
def dialer(db_engine: SqlEngine) -> Iterator[Dialer]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="olive-web-sim", daemon=True)
    thread.start()
    target = asyncio.run_coroutine_threadsafe(start_target(), loop).result(30)
    sessions = make_sessionmaker(db_engine)

    def engine() -> Engine:
        return Engine(sessions, {"default": target.server}, clock=target.clock, guard=AllowAll(), tick_s=0.5)

    api = start_live_api(sessions, engine_factory=engine)
    try:
        yield Dialer(api, target)
    finally:
        stop_live_api(api)
        asyncio.run_coroutine_threadsafe(stop_target(target), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's), or a skip that says how to get one."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's with `apt-get install -y chromium` "
            "(`playwright install` cannot download browsers here), or set OLIVE_TEST_CHROMIUM"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
