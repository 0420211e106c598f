"""``olive calls``: print the attempt records."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from enum import StrEnum
from typing import Any

import typer

from olive.cli._common import DATABASE_OPTION, console, err_console, iso_utc

COLUMNS = (
    "id", "campaign", "contact_id", "number", "attempt", "outcome", "dial_status", "hangup_cause",
    "originated_at", "answered_at", "agent_connected_at", "ended_at", "agent", "customer_wait_s",
    "talk_s", "ring_s", "abandon_reason", "agents_no_answer", "detail",
)
TABLE_COLUMNS = ("id", "number", "attempt", "outcome", "originated_at", "agent", "customer_wait_s", "talk_s")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"


def register(app: typer.Typer) -> None:
    @app.command("calls")
    def calls(
        campaign: str = typer.Option(..., "--campaign", "-c", help="Campaign name or id."),
        fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, csv or jsonl."),
        outcome: str | None = typer.Option(None, help="Only calls with this outcome."),
        limit: int | None = typer.Option(None, help="At most this many (newest last)."),
        database_url: str | None = DATABASE_OPTION,
    ) -> None:
        """Print every attempt of a campaign: one record per call."""
        from olive.cli._common import open_store
        from olive.store import CallRepository, CampaignRepository, transaction

        sessions = open_store(database_url)
        with transaction(sessions) as session:
            found = CampaignRepository(session).by_name_or_id(campaign)
            if found is None:
                err_console.print(f"[red]no campaign named {campaign!r}")
                raise typer.Exit(1)
            found_calls = CallRepository(session).of_campaign(found.id, outcome=outcome.upper() if outcome else None)
            rows = [_row(c, found.name) for c in found_calls]
        if limit is not None:
            rows = rows[-limit:]
        if fmt is Format.jsonl:
            for row in rows:
                sys.stdout.write(json.dumps({k: _json(v) for k, v in row.items()}, default=str) + "\n")
        elif fmt is Format.csv:
            writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(row[k]) for k in COLUMNS})
        else:
            from rich.table import Table

            table = Table(title=f"{len(rows)} call(s) of {found.name}", title_justify="left")
            for col in TABLE_COLUMNS:
                table.add_column(col, justify="right" if col in ("attempt", "customer_wait_s", "talk_s") else "left")
            for row in rows:
                table.add_row(*(_cell(row[c]) for c in TABLE_COLUMNS))
            console.print(table)


def _row(call: Any, campaign_name: str) -> dict[str, Any]:
    return {
        "id": call.id,
        "campaign": campaign_name,
        "contact_id": call.contact_id,
        "number": call.number,
        "attempt": call.attempt,
        "outcome": call.outcome,
        "dial_status": call.dial_status,
        "hangup_cause": call.hangup_cause,
        "originated_at": call.originated_at,
        "answered_at": call.answered_at,
        "agent_connected_at": call.agent_connected_at,
        "ended_at": call.ended_at,
        "agent": call.agent_interface,
        "customer_wait_s": call.customer_wait_s,
        "talk_s": call.talk_s,
        "ring_s": call.ring_s,
        "abandon_reason": call.abandon_reason,
        "agents_no_answer": call.agents_no_answer,
        "detail": call.detail,
    }


def _json(value: Any) -> Any:
    """Times as ISO 8601 UTC with Z; durations to the millisecond (the float noise is not data)."""
    if isinstance(value, datetime):
        return iso_utc(value, "milliseconds")
    if isinstance(value, float):
        return round(value, 3)
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value, "milliseconds")
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)
