"""``olive db``: create or upgrade the database schema, and show its revision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

db_app = typer.Typer(
    name="db",
    help="Manage olive's database (SQLite by default; PostgreSQL via OLIVE_DATABASE_URL).",
    no_args_is_help=True,
)

_URL_HELP = "Database URL (default: $OLIVE_DATABASE_URL, else sqlite:///olive.db)."
T = TypeVar("T")


def _with_engine(url: str, work: Callable[..., T]) -> T:
    """Run ``work(engine)``; a database that cannot be reached is a clean error, not a traceback."""
    from sqlalchemy.exc import OperationalError

    from olive.store import make_engine, safe_url

    engine = make_engine(url)
    try:
        return work(engine)
    except OperationalError as exc:
        typer.echo(f"olive db: cannot use {safe_url(url)}: {exc.orig}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


@db_app.command("upgrade")
def upgrade(
    database_url: str | None = typer.Option(None, "--database-url", help=_URL_HELP),
    revision: str = typer.Option("head", "--revision", help="Target revision."),
) -> None:
    """Create the schema, or upgrade it to the newest revision olive ships."""
    from sqlalchemy import Engine

    from olive.store import current_revision, migrate, safe_url
    from olive.store import database_url as resolve

    url = resolve(database_url)

    def work(engine: Engine) -> tuple[str | None, str | None]:
        before = current_revision(engine)
        migrate(engine, revision)
        return before, current_revision(engine)

    before, after = _with_engine(url, work)
    if before == after:
        typer.echo(f"{safe_url(url)}: already at revision {after}")
    else:
        typer.echo(
            f"{safe_url(url)}: upgraded from {before or 'an empty database'} to revision {after}"
        )


@db_app.command("current")
def current(
    database_url: str | None = typer.Option(None, "--database-url", help=_URL_HELP),
) -> None:
    """Show the schema revision of the database; exit 1 unless it is the newest."""
    from sqlalchemy import make_url

    from olive.store import current_revision, head_revision, safe_url
    from olive.store import database_url as resolve

    url = resolve(database_url)
    head = head_revision()
    parsed = make_url(url)
    database = parsed.database or ""
    is_file = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if is_file and not Path(database).exists():  # do not create an empty file just to look
        typer.echo(f"{safe_url(url)}: no database file yet (run `olive db upgrade`)")
        raise typer.Exit(1)
    revision = _with_engine(url, current_revision)
    if revision is None:
        typer.echo(f"{safe_url(url)}: no schema yet (run `olive db upgrade`); newest is {head}")
        raise typer.Exit(1)
    state = "up to date" if revision == head else f"behind, newest is {head}"
    typer.echo(f"{safe_url(url)}: revision {revision} ({state})")
    if revision != head:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


__all__ = ["register"]
