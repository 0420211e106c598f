"""``olive dnc``: do-not-call lists, global or per campaign."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from olive.cli._common import DATABASE_OPTION, console, err_console

dnc_app = typer.Typer(help="Do-not-call lists: import, add, remove, check.", no_args_is_help=True)

CAMPAIGN_OPTION = typer.Option(None, "--campaign", "-c", help="The campaign's own list (default: the global list).")
REGION_OPTION = typer.Option("US", "--region", help="Region for numbers written without a country code.")


def register(app: typer.Typer) -> None:
    app.add_typer(dnc_app, name="dnc")


@dnc_app.command("import")
def import_(
    csv_file: Path = typer.Argument(..., help="CSV with a 'number' column, or one number (or area code,number) per line."),
    campaign: str | None = CAMPAIGN_OPTION,
    region: str = REGION_OPTION,
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the good rows and report the bad ones."),
    database_url: str | None = DATABASE_OPTION,
) -> None:
    """Import numbers into a do-not-call list. Bad rows refuse the whole file unless --skip-invalid."""
    from olive.cli._common import open_store
    from olive.cli.why import _campaign_id
    from olive.compliance import DncImportRefused, import_dnc, parse_dnc_csv
    from olive.store import transaction

    try:  # bytes decoded as the API decodes them, so both read a file alike
        entries, errors = parse_dnc_csv(csv_file.read_bytes().decode("utf-8-sig"), region, skip_invalid=skip_invalid)
    except OSError as exc:
        err_console.print(f"[red]cannot read {csv_file}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    except UnicodeDecodeError as exc:
        err_console.print(f"[red]{csv_file} is not UTF-8 (byte {exc.start}); save it as UTF-8 CSV")
        raise typer.Exit(1) from None
    except DncImportRefused as exc:
        err_console.print(f"[red]{csv_file}: {len(exc.errors)} bad row(s), nothing imported")
        for error in exc.errors[:50]:
            err_console.print(f"  {escape(str(error))}")
        raise typer.Exit(1) from None
    sessions = open_store(database_url)
    with transaction(sessions) as session:
        campaign_id = _campaign_id(session, campaign) if campaign else None
        report = import_dnc(session, entries, campaign_id=campaign_id, source=f"import {csv_file.name}", errors=errors)
    where = f"campaign {campaign}" if campaign else "the global list"
    console.print(f"{report.added} number(s) added to {where}; {report.already} already there")
    for error in report.errors:
        err_console.print(f"[yellow]skipped[/] {escape(str(error))}")


@dnc_app.command("add")
def add(
    numbers: list[str] = typer.Argument(..., help="Numbers to add."),
    campaign: str | None = CAMPAIGN_OPTION,
    region: str = REGION_OPTION,
    note: str | None = typer.Option(None, help="Why (kept with the entry)."),
    database_url: str | None = DATABASE_OPTION,
) -> None:
    """Add numbers to a do-not-call list; they are blocked from the next Originate on."""
    from olive.cli._common import open_store
    from olive.cli.why import _campaign_id
    from olive.compliance import DncEntry, import_dnc, normalize_dnc
    from olive.store import transaction

    entries = []
    for i, raw in enumerate(numbers, start=1):
        try:
            entries.append(DncEntry(i, normalize_dnc(raw, region), note))
        except ValueError as exc:
            err_console.print(f"[red]{escape(repr(raw))}: {escape(str(exc))}; nothing added")
            raise typer.Exit(1) from None
    sessions = open_store(database_url)
    with transaction(sessions) as session:
        campaign_id = _campaign_id(session, campaign) if campaign else None
        report = import_dnc(session, entries, campaign_id=campaign_id, source="olive dnc add")
    console.print(f"{report.added} number(s) added; {report.already} already there")


@dnc_app.command("remove")
def remove(
    number: str = typer.Argument(..., help="The number to take off the list."),
    campaign: str | None = CAMPAIGN_OPTION,
    region: str = REGION_OPTION,
    database_url: str | None = DATABASE_OPTION,
) -> None:
    """Take a number off a do-not-call list (only do this when the person asked for calls again)."""
    from olive.cli._common import open_store
    from olive.cli.why import _campaign_id
    from olive.compliance import normalize_dnc
    from olive.store import DncRepository, transaction

    try:
        e164 = normalize_dnc(number, region)
    except ValueError as exc:
        err_console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(1) from None
    sessions = open_store(database_url)
    with transaction(sessions) as session:
        campaign_id = _campaign_id(session, campaign) if campaign else None
        removed = DncRepository(session).remove(e164, campaign_id)
    if not removed:
        err_console.print(f"[yellow]{e164} was not on that list")
        raise typer.Exit(1)
    console.print(f"{e164} removed")


@dnc_app.command("check")
def check(
    number: str = typer.Argument(..., help="The number to look up."),
    campaign: str | None = typer.Option(None, "--campaign", "-c", help="Also look in this campaign's list."),
    region: str = REGION_OPTION,
    database_url: str | None = DATABASE_OPTION,
) -> None:
    """Is this number on a do-not-call list? (A lookup: not recorded as a pre-dial check.)"""
    from olive.cli._common import open_store
    from olive.cli.why import _campaign_id
    from olive.compliance import normalize_dnc
    from olive.store import DncRepository, transaction

    try:
        e164 = normalize_dnc(number, region)
    except ValueError as exc:
        err_console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(1) from None
    sessions = open_store(database_url)
    with transaction(sessions) as session:
        campaign_id = _campaign_id(session, campaign) if campaign else None
        hit = DncRepository(session).match(e164, campaign_id)
        where = None if hit is None else ("the global list" if hit.campaign_id is None else f"campaign {campaign}'s list")
    if where is None:
        console.print(f"{e164}: not on a do-not-call list")
        raise typer.Exit(1)
    console.print(f"{e164}: on {where}")
