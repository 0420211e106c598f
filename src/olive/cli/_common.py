"""Helpers shared by the CLI commands."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import typer
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

console = Console()
err_console = Console(stderr=True)

DATABASE_OPTION = typer.Option(
    None, "--database-url", envvar="OLIVE_DATABASE_URL", help="SQLAlchemy URL (default: sqlite:///olive.db)."
)


def iso_utc(value: datetime | None, timespec: str = "seconds") -> str:
    """A time as every olive command prints it: ISO 8601 in UTC with a Z; "" for none."""
    if value is None:
        return ""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def open_store(url: str | None) -> sessionmaker[Session]:
    """Connect, bring the schema up to date, and return a session factory."""
    from olive.store import database_url, make_engine, make_sessionmaker, migrate

    engine = make_engine(database_url(url))
    migrate(engine)
    return make_sessionmaker(engine)


def setup_logging(verbose: bool, *, to_stderr: bool = True) -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
