"""Helpers shared by the CLI commands."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.logging import RichHandler
from sqlalchemy.orm import Session, sessionmaker

console = Console()
err_console = Console(stderr=True)

DATABASE_OPTION = typer.Option(
    None, "--database-url", envvar="OLIVE_DATABASE_URL", help="SQLAlchemy URL (default: sqlite:///olive.db)."
)


def settle_heap() -> None:
    """Leave what start-up built out of the full garbage collections to come.

    A running olive holds 130-200k objects from its imports and set-up (modules, the
    app's routes and models, SQLAlchemy's mappers) that live as long as the process.
    Every full collection walked them all while every thread of the process waited:
    at 1,000 agents those pauses were the slowest engine ticks (docs/performance.md,
    "Full collections"). Frozen objects are still freed by reference counting; only a
    cycle among them would stay, and start-up's cycles are collected just before.
    """
    gc.collect()
    gc.freeze()


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


def engine_pool(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """The dialing engine's own connection pool on the same database, so that the API's
    requests can never take the connections the engine needs (docs/architecture.md)."""
    from olive.store import make_engine, make_sessionmaker

    bind = sessions.kw["bind"]
    if bind.url.get_backend_name() == "sqlite" and bind.url.database in (None, "", ":memory:"):
        return sessions  # an in-memory database exists in one pool only
    return make_sessionmaker(make_engine(bind.url.render_as_string(hide_password=False)))


def setup_logging(verbose: bool, *, to_stderr: bool = True) -> None:
    """Log through Rich on stderr; :func:`logging_through` moves it onto a live view's console."""
    level = logging.DEBUG if verbose else logging.WARNING
    handler = RichHandler(console=err_console if to_stderr else console, show_path=False, markup=False, log_time_format="%H:%M:%S")
    logging.basicConfig(level=level, format="%(name)s: %(message)s", handlers=[handler], force=True)


@contextmanager
def logging_through(target: Console) -> Iterator[None]:
    """While a Live view is up, log lines are printed by its console, above the view,
    instead of being written into the middle of it."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, RichHandler)]
    saved = [h.console for h in handlers]
    for handler in handlers:
        handler.console = target
    try:
        yield
    finally:
        for handler, before in zip(handlers, saved, strict=True):
            handler.console = before
