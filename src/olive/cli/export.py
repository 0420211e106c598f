"""``olive export``: the records a regulator may ask for, as CSV."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import typer

from olive.cli._common import DATABASE_OPTION, err_console


class Kind(StrEnum):
    attempts = "attempts"
    abandons = "abandons"
    dnc_checks = "dnc-checks"
    dnc = "dnc"


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        kind: Kind = typer.Argument(..., help="attempts, abandons, dnc-checks or dnc."),
        campaign: str | None = typer.Option(None, "--campaign", "-c", help="Campaign name or id (default: all)."),
        since: str | None = typer.Option(None, help="From this ISO 8601 time (attempts, dnc-checks)."),
        until: str | None = typer.Option(None, help="Before this ISO 8601 time (attempts, dnc-checks)."),
        output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file (default: standard output)."),
        database_url: str | None = DATABASE_OPTION,
    ) -> None:
        """Export compliance records as CSV.

        attempts: every call with its outcome, timestamps, agent connect wait,
        abandon reason, message played and DNC check. abandons: abandon counts
        per window (campaign to date, successive 30-day and 24-hour periods,
        rolling 24 h and 30 days). dnc-checks: every do-not-call check. dnc:
        the do-not-call lists."""
        import time

        from olive.cli._common import open_store
        from olive.cli.why import _campaign_id
        from olive.compliance import EXPORTS, export_rows, write_csv
        from olive.store import transaction

        start, end = _time(since, "--since"), _time(until, "--until")
        sessions = open_store(database_url)
        with transaction(sessions) as session:
            campaign_id = _campaign_id(session, campaign) if campaign else None
            rows = list(export_rows(kind.value, session, time.time(), campaign_id, start, end))
        columns = EXPORTS[kind.value]
        if output is None:
            write_csv(sys.stdout, columns, rows)
            return
        with output.open("w", encoding="utf-8", newline="") as out:
            count = write_csv(out, columns, rows)
        err_console.print(f"{count} row(s) written to {output}")


def _time(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        err_console.print(f"[red]{option}: not an ISO 8601 time: {text!r}")
        raise typer.Exit(2) from None
    if value.tzinfo is None:
        err_console.print(f"[red]{option}: give a time zone (e.g. 2026-03-01T00:00:00Z)")
        raise typer.Exit(2)
    return value.timestamp()
