"""GET /pool: the servers, the live nodes and the units with their owners (issue 15)."""

from __future__ import annotations

import time
from datetime import datetime

import httpx

from olive.store import (
    ServerLimits,
    acquire_units,
    record_server_view,
    register_node,
    register_servers,
    set_campaign_servers,
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
        set_campaign_servers(s, campaign["id"], ["pbx-a", "pbx-b"])
        register_node(s, "dialer-1", "instance-1", 60, at=now)
        register_node(s, "dialer-gone", "instance-2", 6, at=now - 60)  # not live: not shown
        record_server_view(s, "pbx-b", "dialer-1", "down", "connection refused", at=now)
        acquire_units(s, "dialer-1", 60, limit=5, at=now)
    pool = ok(viewer.get("/pool"))
    assert [(s["name"], s["max_channels"], s["max_cps"], s["health"], s["health_note"]) for s in pool["servers"]] == [
        ("pbx-a", 200, 20.0, "unknown", None),
        ("pbx-b", None, None, "down", "connection refused"),
    ]
    assert [[(v["node"], v["health"], v["counts"]) for v in s["seen_by"]] for s in pool["servers"]] == [
        [],  # no node holds a unit there yet
        [("dialer-1", "down", True)],
    ]
    assert [n["name"] for n in pool["nodes"]] == ["dialer-1"]
    assert [(u["campaign_id"], u["server"], u["owner_node"], u["token"]) for u in pool["units"]] == [
        (campaign["id"], "pbx-a", "dialer-1", 1),
        (campaign["id"], "pbx-b", None, 0),  # its server is down: nobody takes it
    ]


def test_the_pool_shows_each_nodes_view_of_a_server_they_disagree_on(
    live_api: LiveApi, admin: httpx.Client, viewer: httpx.Client
) -> None:
    now = time.time()
    with transaction(live_api.sessions) as s:
        register_servers(s, {"pbx-a": ServerLimits()})
        for name in ("dialer-1", "dialer-2"):
            register_node(s, name, f"{name}-instance", 60, at=now)
        register_node(s, "dialer-gone", "instance-gone", 6, at=now - 60)
        record_server_view(s, "pbx-a", "dialer-gone", "down", "Asterisk is shutting down", at=now - 60)
        record_server_view(s, "pbx-a", "dialer-2", "up", at=now)
        record_server_view(s, "pbx-a", "dialer-1", "down", "AMI connection lost; reconnecting", at=now)
    (server,) = ok(viewer.get("/pool"))["servers"]
    assert (server["health"], server["health_note"]) == (
        "up", "up (dialer-1 sees it down: AMI connection lost; reconnecting)"
    ), "dialer-2 sees it up: it stays up, whoever wrote last"
    assert [(v["node"], v["health"], v["note"], v["counts"]) for v in server["seen_by"]] == [
        ("dialer-1", "down", "AMI connection lost; reconnecting", True),
        ("dialer-2", "up", None, True),
        ("dialer-gone", "down", "Asterisk is shutting down", False),  # its node is dead, its view stale
    ]
    assert abs(datetime.fromisoformat(server["seen_by"][1]["at"]).timestamp() - now) < 1e-3


def test_the_pool_needs_a_key(anon: httpx.Client) -> None:
    error(anon.get("/pool"), 401)


def _scrape(viewer: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    response = viewer.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_show_the_servers_health_each_nodes_view_the_live_nodes_and_each_units_owner(
    live_api: LiveApi, admin: httpx.Client, viewer: httpx.Client
) -> None:
    from olive.store import Call, Campaign

    campaign = make_campaign(admin)
    cid = campaign["id"]
    set_columns(live_api.sessions, Campaign, cid, status="running")
    now = time.time()
    with transaction(live_api.sessions) as s:
        register_servers(s, {"pbx-a": ServerLimits(max_channels=200), "pbx-b": ServerLimits()})
        set_campaign_servers(s, cid, ["pbx-a", "pbx-b"])
        register_node(s, "dialer-1", "instance-1", 60, at=now)
        register_node(s, "dialer-2", "instance-2", 60, at=now)
        register_node(s, "dialer-gone", "instance-3", 6, at=now - 60)
        record_server_view(s, "pbx-a", "dialer-1", "up", at=now)
        record_server_view(s, "pbx-a", "dialer-2", "down", "AMI connection lost; reconnecting", at=now)
        record_server_view(s, "pbx-a", "dialer-gone", "down", "Asterisk is shutting down", at=now - 60)  # counts no more
        record_server_view(s, "pbx-b", "dialer-1", "down", "AMI connection lost; reconnecting", at=now)
        acquire_units(s, "dialer-1", 60, limit=5, at=now)  # pbx-a only: pbx-b is down
        s.add(Call(id="call_open_1", campaign_id=cid, number="+15550100", server="pbx-a"))
    got = _scrape(viewer)
    series = {k: v for k, v in got.items() if k[0].startswith(("olive_server_", "olive_node_", "olive_unit"))}
    assert series == {
        ("olive_server_health", (("health", "unknown"), ("server", "pbx-a"))): 0.0,
        ("olive_server_health", (("health", "up"), ("server", "pbx-a"))): 1.0,
        ("olive_server_health", (("health", "down"), ("server", "pbx-a"))): 0.0,
        ("olive_server_health", (("health", "unknown"), ("server", "pbx-b"))): 0.0,
        ("olive_server_health", (("health", "up"), ("server", "pbx-b"))): 0.0,
        ("olive_server_health", (("health", "down"), ("server", "pbx-b"))): 1.0,
        ("olive_server_health_seen", (("health", "unknown"), ("node", "dialer-1"), ("server", "pbx-a"))): 0.0,
        ("olive_server_health_seen", (("health", "up"), ("node", "dialer-1"), ("server", "pbx-a"))): 1.0,
        ("olive_server_health_seen", (("health", "down"), ("node", "dialer-1"), ("server", "pbx-a"))): 0.0,
        ("olive_server_health_seen", (("health", "unknown"), ("node", "dialer-2"), ("server", "pbx-a"))): 0.0,
        ("olive_server_health_seen", (("health", "up"), ("node", "dialer-2"), ("server", "pbx-a"))): 0.0,
        ("olive_server_health_seen", (("health", "down"), ("node", "dialer-2"), ("server", "pbx-a"))): 1.0,
        ("olive_server_health_seen", (("health", "unknown"), ("node", "dialer-1"), ("server", "pbx-b"))): 0.0,
        ("olive_server_health_seen", (("health", "up"), ("node", "dialer-1"), ("server", "pbx-b"))): 0.0,
        ("olive_server_health_seen", (("health", "down"), ("node", "dialer-1"), ("server", "pbx-b"))): 1.0,
        ("olive_server_calls_in_progress", (("server", "pbx-a"),)): 1.0,
        ("olive_server_calls_in_progress", (("server", "pbx-b"),)): 0.0,
        ("olive_server_max_channels", (("server", "pbx-a"),)): 200.0,
        ("olive_node_up", (("node", "dialer-1"),)): 1.0,
        ("olive_node_up", (("node", "dialer-2"),)): 1.0,
        ("olive_node_units", (("node", "dialer-1"),)): 1.0,
        ("olive_node_units", (("node", "dialer-2"),)): 0.0,
        ("olive_unit_owner", (("campaign", cid), ("node", "dialer-1"), ("server", "pbx-a"))): 1.0,
        ("olive_units_unowned", ()): 1.0,
    }
