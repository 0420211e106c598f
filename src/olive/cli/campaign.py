"""``olive campaign``: create, start, pause, resume, stop and watch campaigns through the REST API.

These commands talk to ``olive serve`` over HTTP (``OLIVE_API_URL``,
``OLIVE_API_KEY``); they never open the database themselves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from olive.cli._api_client import KEY_OPTION, URL_OPTION, Api, ApiError, connect, fail
from olive.cli._common import console, err_console

campaign_app = typer.Typer(name="campaign", help="Drive campaigns on a running `olive serve`.", no_args_is_help=True)

NAME = typer.Argument(..., help="The campaign's name or id.")


@campaign_app.command("create")
def create(
    file: Path = typer.Argument(..., help="A campaign file (TOML, as for `olive run`; its \\[asterisk] table is ignored)."),
    server: str | None = typer.Option(None, "--server", help="The Asterisk server (as named in olive serve)."),
    start: bool = typer.Option(False, "--start", help="Log the agents in and start dialing."),
    api_url: str | None = URL_OPTION,
    api_key: str | None = KEY_OPTION,
) -> None:
    """Create a campaign with its plan, dial list, contacts and agents from a campaign file."""
    from olive.cli._campaign_files import load_for_api

    try:
        loaded = load_for_api(file)
    except ValueError as exc:
        err_console.print(f"[red]Cannot use this campaign file[/]\n{escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    with connect(api_url, api_key) as api:
        try:
            campaign = _install(api, loaded, server)
            if start:
                for agent_id in campaign["agent_ids"]:
                    api.post(f"/agents/{agent_id}/login")
                campaign = api.post(f"/campaigns/{campaign['id']}/start")
        except ApiError as exc:
            fail(exc)
    err_console.print(f"Created campaign {campaign['name']} ({campaign['id']}): {campaign['status']}", soft_wrap=True)
    typer.echo(campaign["id"])


def _install(api: Api, loaded: Any, server: str | None) -> dict[str, Any]:
    """Plan (created, or updated if one of that name exists), agents (found by name, or
    created), a dial list named after the campaign with the file's contacts, then the campaign."""
    spec = loaded.spec
    name = spec.campaign.name
    if api.get("/campaigns", name=name)["items"]:
        raise ApiError(409, {"message": f"a campaign named {name!r} already exists"})
    plan_body = spec.plan.model_dump(mode="json", exclude={"name"})
    plan_name = spec.plan.name or f"{name} plan"
    existing = api.get("/plans", name=plan_name)["items"]
    if existing:
        plan = api.call("PATCH", f"/plans/{existing[0]['id']}", json=plan_body)
    else:
        plan = api.post("/plans", json={"name": plan_name, **plan_body})
    agent_ids = []
    for agent in spec.agents:
        found = api.get("/agents", name=agent.name)["items"]
        agent_ids.append(found[0]["id"] if found else api.post("/agents", json=agent.model_dump())["id"])
    lists = api.get("/dial-lists", name=name)["items"]
    if lists and (lists[0]["contact_count"] or lists[0]["campaign_ids"]):
        raise ApiError(409, {"message": f"a dial list named {name!r} already exists and is in use"})
    numbers = {"default_region": spec.campaign.default_region, "numbering": spec.contacts.numbering}
    if lists:  # left empty by an earlier attempt that failed: use it
        dial_list = api.call("PATCH", f"/dial-lists/{lists[0]['id']}", json=numbers)
    else:
        dial_list = api.post("/dial-lists", json={"name": name, **numbers})
    api.post(
        f"/dial-lists/{dial_list['id']}/contacts/import",
        content=loaded.csv_text.encode("utf-8"),
        headers={"content-type": "text/csv"},
    )
    body = spec.campaign.model_dump(mode="json")
    if server is not None:
        body["server"] = server
    created: dict[str, Any] = api.post(
        "/campaigns",
        json={**body, "plan_id": plan["id"], "dial_list_ids": [dial_list["id"]], "agent_ids": agent_ids},
    )
    return created


@campaign_app.command("list")
def list_campaigns(api_url: str | None = URL_OPTION, api_key: str | None = KEY_OPTION) -> None:
    """List the campaigns and their status."""
    from rich.table import Table

    with connect(api_url, api_key) as api:
        try:
            items = api.get("/campaigns", limit=1000)["items"]
        except ApiError as exc:
            fail(exc)
    table = Table(title=f"{len(items)} campaign(s)", title_justify="left")
    table.add_column("id", no_wrap=True)
    for column in ("name", "status", "queue", "note"):
        table.add_column(column, overflow="fold")
    for c in items:
        table.add_row(c["id"], c["name"], c["status"], c["queue"], c.get("note") or "")
    console.print(table)


def _verb(verb: str, name: str, api_url: str | None, api_key: str | None, **params: Any) -> dict[str, Any]:
    with connect(api_url, api_key) as api:
        try:
            campaign = api.find("campaigns", name)
            result: dict[str, Any] = api.call("POST", f"/campaigns/{campaign['id']}/{verb}", params=params)
        except ApiError as exc:
            fail(exc)
    return result


@campaign_app.command("start")
def start_campaign(name: str = NAME, api_url: str | None = URL_OPTION, api_key: str | None = KEY_OPTION) -> None:
    """Start dialing (409 without agents, dial list, or a plan the profile allows)."""
    campaign = _verb("start", name, api_url, api_key)
    err_console.print(f"{campaign['name']}: {campaign['status']}" + (f" ({campaign['note']})" if campaign.get("note") else ""), soft_wrap=True)


@campaign_app.command("pause")
def pause_campaign(name: str = NAME, api_url: str | None = URL_OPTION, api_key: str | None = KEY_OPTION) -> None:
    """Stop placing new calls; calls in progress go on."""
    campaign = _verb("pause", name, api_url, api_key)
    err_console.print(f"{campaign['name']}: {campaign['status']}", soft_wrap=True)


@campaign_app.command("resume")
def resume_campaign(name: str = NAME, api_url: str | None = URL_OPTION, api_key: str | None = KEY_OPTION) -> None:
    """Dial again after a pause."""
    campaign = _verb("resume", name, api_url, api_key)
    err_console.print(f"{campaign['name']}: {campaign['status']}", soft_wrap=True)


@campaign_app.command("stop")
def stop_campaign(
    name: str = NAME,
    force: bool = typer.Option(False, "--force", help="Hang up the calls in progress too."),
    api_url: str | None = URL_OPTION,
    api_key: str | None = KEY_OPTION,
) -> None:
    """Stop the campaign; calls in progress finish unless --force."""
    result = _verb("stop", name, api_url, api_key, force=str(force).lower())
    err_console.print(f"{result['campaign']['name']}: {result['campaign']['status']}; {result['calls_hung_up']} call(s) hung up", soft_wrap=True)


@campaign_app.command("stats")
def stats(
    name: str = NAME,
    as_json: bool = typer.Option(False, "--json", help="Print the API's JSON."),
    api_url: str | None = URL_OPTION,
    api_key: str | None = KEY_OPTION,
) -> None:
    """Show a campaign's figures: outcomes, contacts left, abandon rates, occupancy, dial level."""
    with connect(api_url, api_key) as api:
        try:
            campaign = api.find("campaigns", name)
            figures = api.get(f"/campaigns/{campaign['id']}/stats")
        except ApiError as exc:
            fail(exc)
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    console.print(stats_table(figures))
    if figures.get("units"):
        console.print(units_table(figures))


def units_table(figures: dict[str, Any]) -> Any:
    """A --scale-out node's answer: each server's figures, as the node holding its unit published them."""
    from rich.table import Table

    table = Table(title="by server (olive serve --scale-out)", title_justify="left")
    for column in ("server", "node", "figures", "dials", "connects", "occupancy", "last decision", "note"):
        table.add_column(column, justify="right" if column in ("dials", "connects", "occupancy") else "left")
    for unit in figures["units"]:
        age = f"{unit['age_s']:.0f} s old"
        held = unit["owner_node"] or "no node"
        state = f"stale, {age}; held by {held}" if unit["stale"] else f"live, {age}"
        decision = (unit.get("pacer") or {}).get("last_decision") or {}
        table.add_row(
            unit["server"],
            unit["node"],
            state,
            "-" if unit["dials"] is None else str(unit["dials"]),
            "-" if unit["connects"] is None else str(unit["connects"]),
            "-" if unit["occupancy"] is None else f"{unit['occupancy'] * 100:.1f}%",
            "-" if not decision else f"{decision.get('dials')}: {decision.get('reason')}",
            unit["note"] or "",
        )
    return table


def stats_table(figures: dict[str, Any]) -> Any:
    from rich.table import Table

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.1f}%"

    table = Table(title=f"{figures['name']}: {figures['status']}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for outcome, count in sorted(figures["outcomes"].items()):
        table.add_row(f"calls {outcome}", str(count))
    table.add_row("calls in all", str(figures["calls"]))
    table.add_row("calls in progress", str(figures["active_calls"]))
    table.add_row("contacts remaining", str(figures["contacts_remaining"]))
    for window in ("campaign", "24h", "30d"):
        ab = figures["abandon"][window]
        table.add_row(f"abandon rate ({window})", f"{pct(ab['rate'])} ({ab['abandoned']}/{ab['live_answers']})")
    table.add_row("agent occupancy", pct(figures["occupancy"]))
    cph = figures["connects_per_agent_hour"]
    table.add_row("connects per agent-hour", "-" if cph is None else f"{cph:.1f}")
    level = figures["dial_level"]
    table.add_row("dial level", "-" if level is None else f"{level:.2f}")
    if figures.get("note"):
        table.add_row("note", figures["note"])
    return table


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")


__all__ = ["register", "stats_table", "units_table"]
