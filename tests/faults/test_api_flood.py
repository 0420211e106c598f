"""The engine keeps dialing while the API is flooded (issue 12; issue 10 deferred it here).

As ``olive serve`` runs them: the API served by uvicorn on the engine's own
event loop, with its own connection pool, one process. Clients in other
threads flood it with reads and writes for the whole campaign, which starts
paused and is resumed through the flooded API. Nothing here measures speed:
the assertions are what must hold however slow the machine is.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import httpx
from sqlalchemy import select

from e2e.harness import Olive, make_campaign, number
from faults.checks import assert_fault_invariants
from olive.api import create_app, make_api_sessions
from olive.api._server import make_server
from olive.store import DncNumber, create_api_key, transaction

CLIENTS = 20  # more than the API admits at once (16): some are shed


class Flood:
    """``CLIENTS`` threads, each looping over a write (a DNC entry) and three reads, until stopped."""

    def __init__(self, base: str, key: str, campaign_id: str) -> None:
        self.base, self.key, self.campaign_id = base, key, campaign_id
        self.stop = threading.Event()
        self.statuses: Counter[int] = Counter()
        self.without_retry_after = 0  # 503s that did not say when to retry
        self.stored: set[str] = set()  # DNC numbers the API answered 201 for
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(CLIENTS)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _client(self, i: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as client:
            j = 0
            while not self.stop.is_set():
                j += 1
                dnc = f"+1720555{i:02d}{j % 100:02d}"  # never a campaign number (+1202555...)
                try:
                    match j % 4:
                        case 0:
                            r = client.post("/dnc", json={"number": dnc})
                        case 1:
                            r = client.get(f"/campaigns/{self.campaign_id}/stats")
                        case 2:
                            r = client.get("/calls", params={"campaign_id": self.campaign_id, "limit": 50})
                        case _:
                            r = client.get(f"/campaigns/{self.campaign_id}")
                except httpx.HTTPError:
                    continue
                with self._lock:
                    self.statuses[r.status_code] += 1
                    if r.status_code == 503 and not r.headers.get("Retry-After"):
                        self.without_retry_after += 1
                    if j % 4 == 0 and r.status_code == 201:
                        self.stored.add(dnc)
                if r.status_code == 503:
                    self.stop.wait(0.25)  # keep the pressure on (a polite client would wait Retry-After: 1 s)


async def test_dialing_goes_on_while_the_api_is_flooded(olive: Olive) -> None:
    pbx = olive.target.pbx
    contacts = [number(1, 600 + i) for i in range(8)]
    cid = make_campaign(olive.sessions, name="flooded", contacts=contacts, agents=["801", "802", "803", "804"],
                        status="paused")
    with transaction(olive.sessions) as s:
        _, key = create_api_key(s, "flood", role="admin")
    engine = await olive.start()
    url = olive.sessions.kw["bind"].url.render_as_string(hide_password=False)
    app = create_app(make_api_sessions(url), engine, manage_engine=False)  # its own pool, as olive serve
    server = make_server(app, "127.0.0.1", 0, log_level="warning", access_log=False)
    serving = asyncio.create_task(server.serve())
    flood: Flood | None = None
    try:
        await olive.until(lambda: server.started, within_s=600, what="the API listening")
        base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        flood = Flood(base, str(key), cid)
        flood.start()
        await olive.until(lambda: sum(flood.statuses.values()) >= CLIENTS, within_s=600, what="the flood under way")
        assert not pbx.actions_named("Originate")  # paused: every call below is placed under the flood

        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as op:
            while (r := await op.post(f"/campaigns/{cid}/resume")).status_code == 503:
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
            assert r.status_code == 200, r.text
        answered_before = sum(flood.statuses.values())
        report = await olive.finish(cid, within_s=3 * 3600)
        flooding = not flood.stop.is_set() and all(t.is_alive() for t in flood.threads)
        answered_during = sum(flood.statuses.values()) - answered_before
    finally:
        if flood is not None:
            await asyncio.to_thread(flood.join)
        server.should_exit = True
        await serving

    # Every contact was dialed and reached, while the clients kept the API busy.
    assert flooding and answered_during > 0
    calls = olive.calls(cid)
    assert {c.number for c in calls} == set(contacts)
    assert report.contacts.get("dialing", 0) == 0 and report.contacts.get("pending", 0) == 0
    assert_fault_invariants(calls, pbx)  # each Originate recorded once, no contact twice at once
    # The API said "overloaded" honestly or answered; never a 500.
    server_errors = {status: n for status, n in flood.statuses.items() if status >= 500 and status != 503}
    assert not server_errors, f"5xx other than 503: {server_errors} of {dict(flood.statuses)}"
    assert flood.without_retry_after == 0
    assert flood.statuses[200] + flood.statuses[201] > 0
    # No write the API confirmed was lost.
    with transaction(olive.sessions) as s:
        kept = set(s.scalars(select(DncNumber.number)))
    assert flood.stored <= kept, sorted(flood.stored - kept)[:5]
    print(f"API flood: {dict(flood.statuses)}; {len(calls)} calls placed meanwhile")
