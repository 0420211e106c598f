"""`olive campaign stats` against a --scale-out node: each server's figures in a table of their own."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from olive.cli.campaign import units_table


def unit(server: str, node: str, owner: str | None, age_s: float, stale: bool, **figures: Any) -> dict[str, Any]:
    return {
        "server": server, "node": node, "token": 3, "owner_node": owner, "live_at": "2026-12-06T23:00:00Z",
        "age_s": age_s, "stale": stale, "note": figures.get("note"), "outcomes": {"CONNECTED": 4},
        "dials": figures.get("dials"), "connects": figures.get("connects"), "agent_hours": 0.5,
        "occupancy": figures.get("occupancy"), "pacer": {"last_decision": figures.get("decision")},
    }


def rendered(figures: dict[str, Any]) -> str:
    console = Console(width=200, record=True)
    console.print(units_table(figures))
    return console.export_text()


def test_each_server_shows_its_node_whether_live_and_its_figures() -> None:
    text = rendered({"units": [
        unit("pbx-a", "node-a", "node-a", 1.6, False, dials=120, connects=31, occupancy=0.8125,
             decision={"dials": 3, "reason": "power: 3 lines per idle agent"}),
        unit("pbx-b", "node-b", None, 14.2, True, note="its node stopped publishing"),
    ]})
    lines = [line for line in text.splitlines() if "pbx-" in line]
    assert len(lines) == 2
    live, stale = lines
    assert "node-a" in live and "live, 2 s old" in live and "120" in live and "31" in live
    assert "81.2%" in live and "3: power: 3 lines per idle agent" in live
    assert "stale, 14 s old; held by no node" in stale and "its node stopped publishing" in stale
    assert stale.count(" - ") >= 3  # no dials, connects or occupancy: none published
