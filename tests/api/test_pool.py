"""GET /pool: the servers, the live nodes and the units with their owners (issue 15)."""

from __future__ import annotations

import time

import httpx

from olive.store import (
    ServerLimits,
    acquire_units,
    register_node,
    register_servers,
    set_campaign_servers,
    set_server_health,
    transaction,
)

from .conftest import LiveApi
from .helpers import error, make_campaign, ok, set_columns


def test_the_pool_shows_servers_nodes_and_who_owns_each_unit(live_api: LiveApi, admin: httpx.Client, viewer: httpx.Client) -> None:
    assert ok(viewer.get("/pool")) == {"servers": [], "nodes": [], "units": []}
    campaign = make_campaign(admin)
    from olive.store import Campaign

    set_columns(live_api.sessions, Campaign, campaign["id"], status="running")
    now = time.time()
    with transaction(live_api.sessions) as s:
        register_servers(s, {"pbx-a": ServerLimits(max_channels=200, max_cps=20.0), "pbx-b": ServerLimits()})
        set_server_health(s, "pbx-b", "down", "connection refused", at=now)
        set_campaign_servers(s, campaign["id"], ["pbx-a", "pbx-b"])
        register_node(s, "dialer-1", "instance-1", 60, at=now)
        register_node(s, "dialer-gone", "instance-2", 6, at=now - 60)  # not live: not shown
        acquire_units(s, "dialer-1", 60, limit=5, at=now)
    pool = ok(viewer.get("/pool"))
    assert [(s["name"], s["max_channels"], s["max_cps"], s["health"], s["health_note"]) for s in pool["servers"]] == [
        ("pbx-a", 200, 20.0, "unknown", None),
        ("pbx-b", None, None, "down", "connection refused"),
    ]
    assert [n["name"] for n in pool["nodes"]] == ["dialer-1"]
    assert [(u["campaign_id"], u["server"], u["owner_node"], u["token"]) for u in pool["units"]] == [
        (campaign["id"], "pbx-a", "dialer-1", 1),
        (campaign["id"], "pbx-b", None, 0),  # its server is down: nobody takes it
    ]


def test_the_pool_needs_a_key(anon: httpx.Client) -> None:
    error(anon.get("/pool"), 401)
