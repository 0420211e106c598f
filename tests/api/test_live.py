"""The API driving the real engine against the simulated Asterisk: calls happen.

One :class:`~olive.clock.ScaledClock`, starting on a weekday at noon in New
York, is shared by the simulator and the engine, so calls run 20 times faster
and the calling-hours rule (the engine's default compliance guard) allows
them. The simulator runs the dialplan and queues olive ships
(docs/asterisk/) and the far ends of live/people.conf. Waits are bounded
("until ... or fail"), never timed assertions.
"""

from __future__ import annotations

import asyncio
import csv
import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine as SqlEngine

from olive.ami import ServerConfig
from olive.clock import ScaledClock
from olive.engine import Engine
from olive.store import make_sessionmaker

from .conftest import LiveApi, start_live_api, stop_live_api
from .helpers import make_agent, make_list, make_plan, ok, unique
from .test_events import Stream

SCENARIO = Path(__file__).with_name("live") / "scenario.toml"
NOON_NY = datetime(2026, 1, 15, 17, 0, tzinfo=UTC).timestamp()  # Thursday 12:00 in New York
SCALE = 20.0
QUEUE = "olive-sales"
NY = [f"+1212555{n:04d}" for n in range(200, 260)]


@dataclass
class Rig:
    api: LiveApi
    pbx: Any
    clock: ScaledClock


@pytest.fixture(scope="module")
def rig(db_engine: SqlEngine) -> Iterator[Rig]:
    from olive.sim import SimulatedPBX, load_scenario

    clock = ScaledClock(SCALE, start=NOON_NY)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="olive-sim", daemon=True)
    thread.start()
    pbx = SimulatedPBX(load_scenario(SCENARIO), clock=clock, username="olive", secret="live-secret")
    port = asyncio.run_coroutine_threadsafe(pbx.start(), loop).result(30)
    sessions = make_sessionmaker(db_engine)
    server = ServerConfig("127.0.0.1", port, "olive", "live-secret")
    api = start_live_api(sessions, engine_factory=lambda: Engine(sessions, {"default": server}, clock=clock, tick_s=1.0))
    try:
        yield Rig(api, pbx, clock)
    finally:
        stop_live_api(api)
        asyncio.run_coroutine_threadsafe(pbx.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


@pytest.fixture(scope="module")
def live_api(rig: Rig) -> LiveApi:
    return rig.api


def until(check: Callable[[], Any], what: str, *, within_s: float = 60.0) -> Any:
    """Poll until ``check()`` returns something truthy; fail (not assert a duration) after a long bound."""
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def _setup(admin: httpx.Client, *, people: str, contacts: int, agents: int = 1, **plan: Any) -> dict[str, Any]:
    """A stopped campaign on the simulator, its agents logged out."""
    plan_row = make_plan(admin, channel_template=f"Local/{{number}}@{people}", **{"dial_timeout_s": 20, **plan})
    dial_list = make_list(admin)
    body = [{"phones": [NY[i]], "external_ref": f"c{i}"} for i in range(contacts)]
    ok(admin.post(f"/dial-lists/{dial_list['id']}/contacts/import", json=body), 201)
    agent_ids = []
    for _ in range(agents):
        name = unique("live-agent")
        agent_ids.append(make_agent(admin, name=name, interface=f"Local/{500 + int(name.rsplit('-', 1)[1])}@api-agents")["id"])
    return ok(
        admin.post(
            "/campaigns",
            json={
                "name": unique("live"),
                "queue": QUEUE,
                "plan_id": plan_row["id"],
                "dial_list_ids": [dial_list["id"]],
                "agent_ids": agent_ids,
            },
        ),
        201,
    )


def _calls(admin: httpx.Client, campaign_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(admin.get("/calls", params={"campaign_id": campaign_id, "limit": 1000}))["items"]
    return items


def _members(rig: Rig) -> dict[str, Any]:
    return {m.interface: m for m in rig.pbx.queue_members(QUEUE)}


class TestCampaignRun:
    def test_a_campaign_dials_through_the_api(self, rig: Rig, admin: httpx.Client, viewer: httpx.Client) -> None:
        campaign = _setup(admin, people="api-short", contacts=3)
        cid, (agent_id,) = campaign["id"], campaign["agent_ids"]
        interface = ok(admin.get(f"/agents/{agent_id}"))["interface"]
        stream = Stream(viewer, {"campaign_id": cid, "kind": "call", "limit": 3})

        ok(admin.post(f"/agents/{agent_id}/login"))
        started = ok(admin.post(f"/campaigns/{cid}/start"))
        assert started["status"] == "running"
        until(lambda: interface in _members(rig), "the agent is a member of the campaign's queue (QueueAdd)")
        assert any(a.get("Interface") == interface for a in rig.pbx.actions_named("QueueAdd"))

        finished = until(
            lambda: (c := ok(admin.get(f"/campaigns/{cid}")))["status"] == "finished" and c, "the campaign finishes"
        )
        assert finished["finished_at"] is not None
        calls = _calls(admin, cid)
        assert [c["outcome"] for c in calls] == ["CONNECTED"] * 3
        assert all(c["agent_id"] == agent_id and c["talk_s"] for c in calls)

        stats = ok(viewer.get(f"/campaigns/{cid}/stats"))
        assert stats["outcomes"] == {"CONNECTED": 3} and stats["contacts_remaining"] == 0
        assert stats["abandon"]["campaign"] == {"live_answers": 3, "abandoned": 0, "rate": 0.0}
        assert stats["pacer"]["mode"] == "progressive" and stats["occupancy"] is not None

        rows = list(csv.DictReader(io.StringIO(viewer.get("/calls.csv", params={"campaign_id": cid}).text)))
        assert sorted(r["id"] for r in rows) == sorted(c["id"] for c in calls)
        assert {r["outcome"] for r in rows} == {"CONNECTED"}

        events = stream.join()
        assert events and all(e["kind"] == "call" and e["campaign_id"] == cid for e in events)
        assert {e["data"]["call_id"] for e in events} <= {c["id"] for c in calls}

    def test_a_changed_plan_applies_to_new_calls_only(self, rig: Rig, admin: httpx.Client) -> None:
        campaign = _setup(admin, people="api-long", contacts=4, dial_timeout_s=20)
        cid, (agent_id,) = campaign["id"], campaign["agent_ids"]
        ok(admin.post(f"/agents/{agent_id}/login"))
        ok(admin.post(f"/campaigns/{cid}/start"))
        until(lambda: [c for c in _calls(admin, cid) if c["state"] == "connected"], "a call reaches the agent")
        before = {c["id"] for c in _calls(admin, cid)}
        changed_at = rig.clock.now()
        ok(admin.patch(f"/plans/{campaign['plan_id']}", json={"dial_timeout_s": 45}))
        # The customers stay an hour: hang up what is in flight so the agent frees and new calls start.
        ok(admin.post(f"/campaigns/{cid}/stop", params={"force": "true"}))
        until(lambda: all(c["ended_at"] for c in _calls(admin, cid)), "the calls in flight end")
        ok(admin.post(f"/campaigns/{cid}/start"))
        restarted_at = rig.clock.now()
        after = until(
            lambda: [c for c in _calls(admin, cid) if datetime.fromisoformat(c["originated_at"]).timestamp() > restarted_at],
            "a call starts after the change",
        )
        ok(admin.post(f"/campaigns/{cid}/stop", params={"force": "true"}))
        for call in _calls(admin, cid):
            snapshot = ok(admin.get(f"/calls/{call['id']}"))["plan_snapshot"]
            originated = datetime.fromisoformat(call["originated_at"]).timestamp()
            # A dial decided by a tick that read the plan while the change was being
            # committed may carry either (tests/api/test_plans.py checks the engine is
            # told at once); every dial before the change has the old, after the restart the new.
            if originated < changed_at:
                assert snapshot["dial_timeout_s"] == 20, call
            elif originated > restarted_at:
                assert snapshot["dial_timeout_s"] == 45, call
        assert before and after
        assert all(ok(admin.get(f"/calls/{c}"))["plan_snapshot"]["dial_timeout_s"] == 20 for c in before)

    def test_stop_lets_calls_finish_and_force_hangs_them_up(self, rig: Rig, admin: httpx.Client) -> None:
        campaign = _setup(admin, people="api-long", contacts=3)
        cid, (agent_id,) = campaign["id"], campaign["agent_ids"]
        ok(admin.post(f"/agents/{agent_id}/login"))
        ok(admin.post(f"/campaigns/{cid}/start"))
        call = until(lambda: [c for c in _calls(admin, cid) if c["state"] == "connected"], "a call is connected")[0]
        stopped = ok(admin.post(f"/campaigns/{cid}/stop"))
        stopped_at = rig.clock.now()
        assert stopped["calls_hung_up"] == 0 and stopped["campaign"]["status"] == "stopped"
        assert ok(admin.get(f"/calls/{call['id']}"))["ended_at"] is None  # still talking
        assert ok(admin.post(f"/campaigns/{cid}/stop", params={"force": "true"}))["calls_hung_up"] >= 1
        ended = until(lambda: (c := ok(admin.get(f"/calls/{call['id']}")))["ended_at"] and c, "the call is hung up")
        assert ended["outcome"] == "CONNECTED"
        until(lambda: all(c["ended_at"] for c in _calls(admin, cid)), "every call of the campaign ends")
        originated = [datetime.fromisoformat(c["originated_at"]).timestamp() for c in _calls(admin, cid)]
        assert max(originated) <= stopped_at  # nothing dialed after the stop


class TestAgentShift:
    def test_login_pause_ready_logout_drive_the_queue(self, rig: Rig, admin: httpx.Client) -> None:
        campaign = _setup(admin, people="api-short", contacts=1)
        cid, (agent_id,) = campaign["id"], campaign["agent_ids"]
        interface = ok(admin.get(f"/agents/{agent_id}"))["interface"]
        ok(admin.post(f"/campaigns/{cid}/start"))
        ok(admin.post(f"/campaigns/{cid}/pause"))  # memberships are kept while paused; nothing is dialed
        ok(admin.post(f"/agents/{agent_id}/login"))
        until(lambda: interface in _members(rig), "QueueAdd after login")
        ok(admin.post(f"/agents/{agent_id}/pause", json={"reason": "lunch"}))
        member = until(lambda: (m := _members(rig).get(interface)) and m.paused and m, "QueuePause with the reason")
        assert member.reason == "lunch"
        ok(admin.post(f"/agents/{agent_id}/ready"))
        until(lambda: (m := _members(rig).get(interface)) and not m.paused, "unpaused")
        assert ok(admin.post(f"/agents/{agent_id}/logout"))["state"] == "logged_out"
        until(lambda: interface not in _members(rig), "QueueRemove after logout")
        assert _calls(admin, cid) == []
        ok(admin.post(f"/campaigns/{cid}/stop"))


def _scrape(viewer: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    response = viewer.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


class TestMetrics:
    def test_metrics_move_while_a_campaign_runs(self, rig: Rig, admin: httpx.Client, viewer: httpx.Client) -> None:
        campaign = _setup(admin, people="api-short", contacts=4)
        cid, name, (agent_id,) = campaign["id"], campaign["name"], campaign["agent_ids"]
        before = _scrape(viewer)
        assert before[("olive_ami_up", (("server", "default"),))] == 1.0
        assert ("olive_database_up", ()) in before and before[("olive_database_up", ())] == 1.0
        ok(admin.post(f"/agents/{agent_id}/login"))
        ok(admin.post(f"/campaigns/{cid}/start"))

        def calls_so_far() -> float:
            now = _scrape(viewer)
            return sum(v for (metric, labels), v in now.items() if metric == "olive_calls_total" and ("campaign", name) in labels)

        until(lambda: calls_so_far() >= 1, "a finished call shows in olive_calls_total")
        during = _scrape(viewer)
        assert ("olive_campaign_running", (("campaign", name),)) in during
        assert ("olive_abandon_rate", (("campaign", name), ("window", "24h"))) in during
        assert any(metric == "olive_pacer_estimate" and ("campaign", name) in labels for metric, labels in during)
        assert sum(v for (m, _), v in during.items() if m == "olive_agents") >= 1
        ticks = ("olive_engine_ticks_total", (("result", "ok"),))
        assert during[ticks] > before[ticks]
        assert during[("olive_engine_tick_seconds_count", ())] > before[("olive_engine_tick_seconds_count", ())]
        requests = ("olive_api_requests_total", (("method", "POST"), ("route", "/campaigns/{campaign_id}/start"), ("status", "200")))
        assert during[requests] >= 1
        until(lambda: ok(admin.get(f"/campaigns/{cid}"))["status"] == "finished", "the campaign finishes")

    def test_metrics_need_a_key(self, anon: httpx.Client) -> None:
        assert anon.get("/metrics").status_code == 401
