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

SQLite has one write lock per database, and its busy timeout is a poll: a
writer that finds the lock taken sleeps (1, 2, 5, ... up to 100 ms) and
tries again, so a writer that commits and writes again at once (the API
serving a queue of requests) can keep the lock from another (the engine's
tick) until that one's timeout. Within one process the writers to one file
therefore take turns first (:class:`_WriteTurns`, first come first served),
so they never need SQLite's poll to meet.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

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
        if not in_memory:
            _take_turns(engine, _turns_for(os.path.abspath(str(parsed.database))), busy_timeout_ms / 1000)
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


class _WriteTurns:
    """The writers of one process to one SQLite file, served first come first served.

    A connection takes its turn before its first write (or ``BEGIN
    IMMEDIATE``) and gives it back when its transaction ends. A thread that
    already holds the turn through another connection does not queue for it
    (SQLite decides, as it would without turns), so a thread never waits on
    itself.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[object] = deque()
        self._holder: int | None = None  # id() of the DBAPI connection in its turn
        self._thread: int | None = None

    def take(self, holder: int, timeout_s: float) -> bool:
        """Wait for the turn; False when ``timeout_s`` passed first, or this thread already holds it."""
        with self._cond:
            if self._holder == holder:
                return True
            if self._thread == threading.get_ident():
                return False
            me = object()
            self._waiting.append(me)
            ok = self._cond.wait_for(lambda: self._holder is None and self._waiting[0] is me, timeout_s)
            self._waiting.remove(me)
            if ok:
                self._holder, self._thread = holder, threading.get_ident()
            self._cond.notify_all()
            return ok

    def give_back(self, holder: int) -> None:
        with self._cond:
            if self._holder == holder:
                self._holder = self._thread = None
                self._cond.notify_all()

    def held_by(self, holder: int) -> bool:
        return self._holder == holder


_TURNS: dict[str, _WriteTurns] = {}
_TURNS_LOCK = threading.Lock()
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "BEGIN"})


def _turns_for(path: str) -> _WriteTurns:
    with _TURNS_LOCK:
        return _TURNS.setdefault(path, _WriteTurns())


def _writes(statement: str) -> bool:
    head = statement.lstrip()[:8].upper()
    word = head.split(None, 1)[0] if head.split() else ""
    if word in _WRITES:
        return True
    if word == "WITH":
        upper = statement.upper()
        return any(f"{w} " in upper for w in ("INSERT", "UPDATE", "DELETE"))
    return False


def _take_turns(engine: Engine, turns: _WriteTurns, timeout_s: float) -> None:
    def take(dbapi_connection: Any) -> None:
        holder = id(dbapi_connection)
        if turns.held_by(holder):
            return
        start = time.monotonic()
        if not turns.take(holder, timeout_s) and time.monotonic() - start >= timeout_s:
            raise OperationalError("(waiting for this process's other writers)", None, Exception("database is locked"))

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if _writes(statement):
            take(conn.connection.dbapi_connection)

    def _on_savepoint(conn: Connection, _name: str) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if dbapi_connection is not None and not dbapi_connection.in_transaction:
            take(dbapi_connection)  # before _setup_sqlite's BEGIN IMMEDIATE (insert=True)

    event.listen(engine, "savepoint", _on_savepoint, insert=True)

    def done(conn: Connection) -> None:
        turns.give_back(id(conn.connection.dbapi_connection))

    event.listen(engine, "commit", done)
    event.listen(engine, "rollback", done)
    for name in ("reset", "checkin", "close", "invalidate"):  # a connection's transaction ended with it
        event.listen(engine.pool, name, lambda dbapi_connection, *_: turns.give_back(id(dbapi_connection)))


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for ``engine``. Objects stay readable after commit (``expire_on_commit=False``)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work at the edge: commit on success, roll back on error, always close."""
    with factory() as session, session.begin():
        yield session


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
