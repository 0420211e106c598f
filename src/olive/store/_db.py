"""Engines, sessions and migrations.

Transactions are owned at the edge: the engine tick or the API request opens
a session, calls repositories (which never commit) and commits once, e.g.
with :func:`transaction`.

SQLite runs in WAL mode with foreign keys on, a busy timeout and
``synchronous=NORMAL``. Its driver's default transaction handling is kept on
purpose: reads take no lock, and a transaction starts at its first write,
which waits for the write lock (up to the busy timeout) instead of failing.
A SAVEPOINT outside a transaction first opens one with ``BEGIN IMMEDIATE``,
so ``Session.begin_nested()`` works as on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    any_,
    bindparam,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker

ENV_DATABASE_URL: Final = "OLIVE_DATABASE_URL"
DEFAULT_DATABASE_URL: Final = "sqlite:///olive.db"
SCRIPT_LOCATION: Final = "olive.store:migrations"


def database_url(explicit: str | None = None) -> str:
    """The database to use: ``explicit``, else ``$OLIVE_DATABASE_URL``, else ``sqlite:///olive.db``."""
    if explicit:
        return explicit
    return os.environ.get(ENV_DATABASE_URL) or DEFAULT_DATABASE_URL


def safe_url(url: str | Engine) -> str:
    """The URL with its password hidden, for logs and messages."""
    parsed = url.url if isinstance(url, Engine) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def make_engine(
    url: str | None = None,
    *,
    busy_timeout_ms: int = 10_000,
    echo: bool = False,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout_s: float | None = None,
) -> Engine:
    """An engine for ``url`` (default: :func:`database_url`), set up for olive.

    Each engine has its own connection pool. ``pool_size``, ``max_overflow``
    and ``pool_timeout_s`` (how long a checkout waits before
    ``sqlalchemy.exc.TimeoutError``) default to SQLAlchemy's (5, 10, 30 s);
    the API passes smaller waits so that overload is answered, not queued.
    """
    parsed = make_url(database_url(url))
    in_memory = parsed.database in (None, "", ":memory:")
    pool: dict[str, Any] = {}
    if not (parsed.get_backend_name() == "sqlite" and in_memory):  # in memory: one shared connection, no queue
        pool = {
            key: value
            for key, value in (("pool_size", pool_size), ("max_overflow", max_overflow), ("pool_timeout", pool_timeout_s))
            if value is not None
        }
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            **pool,
        )
        _setup_sqlite(engine, busy_timeout_ms, in_memory=in_memory)
        return engine
    return create_engine(parsed, echo=echo, pool_pre_ping=True, **pool)


def _setup_sqlite(engine: Engine, busy_timeout_ms: int, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "savepoint")
    def _on_savepoint(conn: Connection, _name: str) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if dbapi_connection is not None and not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for ``engine``. Objects stay readable after commit (``expire_on_commit=False``)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work at the edge: commit on success, roll back on error, always close."""
    with factory() as session, session.begin():
        yield session


def among(
    session: Session, column: ColumnElement[Any] | QueryableAttribute[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``: one parameter, so the
    statement's text is the same for any number of values (psycopg converts it once and
    the server can prepare it; an IN list of over 50 values is converted again each time)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type, dimensions=1)))
    return column.in_(values)


def ping(session: Session) -> None:
    """A round trip to the database (``SELECT 1``); raises if it does not answer."""
    session.execute(text("SELECT 1"))


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


@contextmanager
def _connect(engine_or_url: Engine | str | None) -> Iterator[Connection]:
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def migrate(engine_or_url: Engine | str | None = None, revision: str = "head") -> None:
    """Upgrade the database's schema to ``revision`` (default: the newest)."""
    with _connect(engine_or_url) as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine_or_url: Engine | str | None, revision: str = "base") -> None:
    """Downgrade the schema to ``revision`` (``base``: drop everything olive made)."""
    with _connect(engine_or_url) as connection:
        command.downgrade(_config(connection), revision)


def current_revision(engine_or_url: Engine | str | None = None) -> str | None:
    """The schema revision the database is at; None for a database never migrated."""
    with _connect(engine_or_url) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest schema revision olive ships."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


__all__ = [
    "DEFAULT_DATABASE_URL",
    "ENV_DATABASE_URL",
    "current_revision",
    "database_url",
    "downgrade",
    "head_revision",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "safe_url",
    "transaction",
]
