"""``olive apikey``: create, list and revoke API keys (stored hashed; a key is shown once)."""

from __future__ import annotations

from enum import StrEnum

import typer

from olive.cli._common import DATABASE_OPTION, console, err_console, iso_utc

apikey_app = typer.Typer(name="apikey", help="Manage the REST API's keys.", no_args_is_help=True)


class Role(StrEnum):
    admin = "admin"
    viewer = "viewer"


@apikey_app.command("create")
def create(
    role: Role = typer.Option(..., "--role", help="admin (read and change) or viewer (read only)."),
    name: str | None = typer.Option(None, "--name", help="What the key is for, e.g. 'crm-sync'."),
    database_url: str | None = DATABASE_OPTION,
) -> None:
    """Create a key and print it once, alone on stdout. Only its hash is stored."""
    from olive.cli._common import open_store
    from olive.store import create_api_key, transaction

    label = name or f"{role.value} key"
    if not label.strip() or len(label) > 200 or any(ord(c) < 32 for c in label):
        err_console.print("[red]--name: give a name of at most 200 characters, without line breaks", soft_wrap=True)
        raise typer.Exit(2)
    sessions = open_store(database_url)
    with transaction(sessions) as session:
        row, plaintext = create_api_key(session, label, role.value)
        key_id = row.id
    err_console.print(f"Created {role.value} key {key_id} ({label}). It is shown only now: store it safely.", soft_wrap=True)
    typer.echo(plaintext)


@apikey_app.command("list")
def list_keys(database_url: str | None = DATABASE_OPTION) -> None:
    """List keys (never the keys themselves: their id, name, role and first characters)."""
    from rich.table import Table

    from olive.cli._common import open_store
    from olive.store import ApiKeyRepository, transaction

    sessions = open_store(database_url)
    with transaction(sessions) as session:
        rows = ApiKeyRepository(session).every()
    table = Table(title=f"{len(rows)} API key(s)", title_justify="left")
    table.add_column("id", no_wrap=True)
    for column in ("name", "role", "starts with", "created", "last used", "revoked"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.id, row.name, row.role, row.prefix + "…", iso_utc(row.created_at), iso_utc(row.last_used_at),
            iso_utc(row.revoked_at),
        )
    console.print(table)


@apikey_app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="The key's id (key_...), from `olive apikey list`."),
    database_url: str | None = DATABASE_OPTION,
) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    from olive.cli._common import open_store
    from olive.store import revoke_api_key, transaction

    sessions = open_store(database_url)
    with transaction(sessions) as session:
        done = revoke_api_key(session, key_id)
    if not done:
        err_console.print(f"[red]no live key {key_id!r}", soft_wrap=True)
        raise typer.Exit(1)
    err_console.print(f"Revoked {key_id}.", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(apikey_app, name="apikey")


__all__ = ["register"]
