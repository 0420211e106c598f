"""``olive contacts import``: load a CSV or JSON file into a dial list through the REST API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from olive.cli._api_client import KEY_OPTION, URL_OPTION, ApiError, connect, fail
from olive.cli._common import err_console

contacts_app = typer.Typer(name="contacts", help="Contacts of dial lists on a running `olive serve`.", no_args_is_help=True)


@contacts_app.command("import")
def import_contacts(
    dial_list: str = typer.Argument(..., help="The dial list's name or id."),
    file: Path = typer.Argument(..., help="A .csv (header row first) or a .json array of contacts (at most 8 MiB; send larger files as CSV, which streams)."),
    create: bool = typer.Option(False, "--create", help="Create the dial list if there is none of that name."),
    region: str = typer.Option("US", "--region", help="A new list's default region (how national numbers are read)."),
    api_url: str | None = URL_OPTION,
    api_key: str | None = KEY_OPTION,
) -> None:
    """Import every row, or none: a bad row is reported with its line, field and reason."""
    try:
        body = file.read_bytes()
    except OSError as exc:
        err_console.print(f"[red]cannot read {file}: {exc.strerror}", soft_wrap=True)
        raise typer.Exit(2) from None
    media = "application/json" if file.suffix.lower() == ".json" else "text/csv"
    with connect(api_url, api_key, timeout=600) as api:
        try:
            try:
                target = api.find("dial-lists", dial_list)
            except ApiError as exc:
                if not (create and exc.status == 404):
                    raise
                target = api.post("/dial-lists", json={"name": dial_list, "default_region": region})
            with _progress(body, file.name) as upload:
                report = api.post(
                    f"/dial-lists/{target['id']}/contacts/import",
                    content=upload,
                    headers={"content-type": media, "content-length": str(len(body))},
                )
        except ApiError as exc:
            fail(exc)
    err_console.print(
        f"Imported {report['imported']} contact(s) into {target['name']} ({target['id']}); "
        f"it now has {report['contact_count']}.",
        soft_wrap=True,
    )


#: Bytes per piece of the upload: the bar moves every 256 KiB.
CHUNK = 256 * 1024


@contextmanager
def _progress(body: bytes, name: str) -> Iterator[Iterator[bytes]]:
    """The body in pieces, with a progress bar on a terminal: sending, then the server's
    check of every row (a 200,000-row file takes a while; all or nothing, so no partial count)."""
    rows = max(0, body.count(b"\n") - 1) if not name.lower().endswith(".json") else None
    what = f"{rows:,} rows" if rows is not None else f"{len(body):,} bytes"
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        sending = bar.add_task(f"sending {name} ({what})", total=len(body))

        def pieces() -> Iterator[bytes]:
            for start in range(0, len(body), CHUNK):
                piece = body[start : start + CHUNK]
                yield piece
                bar.advance(sending, len(piece))
            bar.update(sending, description=f"olive checks and stores {what} (all or nothing)")

        yield pieces()


def register(app: typer.Typer) -> None:
    app.add_typer(contacts_app, name="contacts")


__all__ = ["register"]
