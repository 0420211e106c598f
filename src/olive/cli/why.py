"""``olive why``: will this contact be dialed now, and if not, why and until when?"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

import typer

from olive.cli._common import DATABASE_OPTION, console, err_console, iso_utc


class Format(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command("why")
    def why(
        contact: str | None = typer.Argument(None, help="Contact id, external ref, or phone number."),
        campaign: str | None = typer.Option(None, "--campaign", "-c", help="Campaign name or id (alone: explain the campaign)."),
        fmt: Format = typer.Option(Format.text, "--format", "-f", help="text or json."),
        at: str | None = typer.Option(None, "--at", help="Explain as of this ISO 8601 time instead of now."),
        database_url: str | None = DATABASE_OPTION,
    ) -> None:
        """Say whether a contact will be dialed now and, if not, each reason with the time it clears.

        With only --campaign, say why a campaign is or is not dialing."""
        import time

        from olive.cli._common import open_store
        from olive.compliance import explain_campaign, explain_contact
        from olive.store import transaction

        if contact is None and campaign is None:
            err_console.print("[red]give a CONTACT, or --campaign to explain a campaign")
            raise typer.Exit(2)
        now = _parse_time(at) if at else time.time()
        sessions = open_store(database_url)
        with transaction(sessions) as session:
            campaign_id = _campaign_id(session, campaign) if campaign else None
            if contact is None:
                assert campaign_id is not None
                explanation = explain_campaign(session, campaign_id, now)
                _print(explanation.as_dict(), fmt, _campaign_text)
                return
            found = _contacts(session, contact)
            if not found:
                err_console.print(f"[red]no contact {contact!r} (try its id, external ref or phone number)")
                raise typer.Exit(1)
            answers = [a.as_dict() for cid in found for a in explain_contact(session, cid, now, campaign_id)]
        if not answers:
            err_console.print("[yellow]no campaign dials this contact's list" + (" (for that campaign)" if campaign else ""))
            raise typer.Exit(1)
        if fmt is Format.json:
            typer.echo(json.dumps(answers if len(answers) > 1 else answers[0], indent=2))
            return
        for answer in answers:
            _contact_text(answer)


def _parse_time(text: str) -> float:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        err_console.print(f"[red]--at: not an ISO 8601 time: {text!r}")
        raise typer.Exit(2) from None
    if value.tzinfo is None:
        err_console.print("[red]--at: give a time zone (e.g. 2026-03-09T12:00:00Z)")
        raise typer.Exit(2)
    return value.timestamp()


def _campaign_id(session: Any, name_or_id: str) -> str:
    from olive.store import CampaignRepository

    found = CampaignRepository(session).by_name_or_id(name_or_id)
    if found is None:
        err_console.print(f"[red]no campaign named {name_or_id!r}")
        raise typer.Exit(1)
    return found.id


def _contacts(session: Any, key: str) -> list[str]:
    """Contact ids for an id, an external ref, or a phone number (normalised to E.164)."""
    from olive.phone import InvalidNumber, normalize
    from olive.store import Contact, ContactRepository

    if session.get(Contact, key) is not None:
        return [key]
    repo = ContactRepository(session)
    ids = repo.ids_for(external_ref=key)
    if ids:
        return ids
    try:
        number = normalize(key)
    except InvalidNumber:
        return []
    return repo.ids_for(number=number)


def _print(data: dict[str, Any], fmt: Format, text: Any) -> None:
    if fmt is Format.json:
        typer.echo(json.dumps(data, indent=2, default=lambda v: iso_utc(v) if isinstance(v, datetime) else str(v)))
    else:
        text(data)


def _contact_text(a: dict[str, Any]) -> None:
    head = "[green]will be dialed[/]" if a["dial_now"] else "[red]not dialed now[/]"
    console.print(f"contact [bold]{a['contact_id']}[/] in campaign [bold]{a['campaign']}[/]: {head}")
    hours = a.get("calling_hours")
    if hours:
        local = ", ".join(f"{t['local_time']} ({t['zone']})" for t in hours["local_times"])
        console.print(f"  local time: {local}; calling window {'open' if hours['open'] else 'closed'}")
    for reason in a["reasons"]:
        console.print(f"  - {reason['code']}: {reason['message']}")
        console.print(f"    clears: {reason['clears'] or 'never'}")
    if not a["dial_now"]:
        console.print(f"  eligible again: {a['eligible_at'] or 'not by itself'}")
    else:
        console.print("  it is due and allowed: it goes when the campaign next places a call")


def _campaign_text(c: dict[str, Any]) -> None:
    head = "[green]can dial[/]" if c["dialing"] else "[red]dials nothing now[/]"
    console.print(f"campaign [bold]{c['campaign']}[/] ({c['status']}): {head}")
    for reason in c["reasons"]:
        console.print(f"  - {reason}")
    contacts = ", ".join(f"{n} {s}" for s, n in sorted(c["contacts"].items())) or "none"
    console.print(f"  contacts: {contacts}; due now {c['due_now']}, of which allowed {c['eligible_now']}")
    if c["held_back"]:
        console.print("  held back: " + ", ".join(f"{n} {code}" for code, n in c["held_back"].items()))
    for warning in c["warnings"]:
        console.print(f"  [yellow]warning:[/] {warning}")
