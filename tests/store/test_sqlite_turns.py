"""SQLite writers of one process take turns, first come first served.

SQLite's busy timeout is a poll: a writer that finds the write lock taken
sleeps and tries again, so a writer that commits and writes again at once
(the API serving a queue of requests) could keep the lock from another (the
engine's tick) until that one gave up. With turns, whoever waited first
writes first. No timing is asserted: the order is.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from olive.store import make_engine
from olive.store._db import _turns_for


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE log (n INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT)"))
    return engine


def _wait_for_waiters(path: Path, n: int) -> None:
    turns = _turns_for(str(path))
    with turns._cond:
        assert turns._cond.wait_for(lambda: len(turns._waiting) == n, 30)


def test_a_waiting_writer_goes_before_one_that_comes_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    api = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")  # another pool, as the API has its own
    first = api.connect()
    first.execute(text("INSERT INTO log (who) VALUES ('api 1')"))  # holds the turn (and SQLite's lock)

    def tick() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO log (who) VALUES ('engine')"))

    waiter = threading.Thread(target=tick)
    waiter.start()
    _wait_for_waiters(tmp_path / "turns.db", 1)
    first.commit()
    first.execute(text("INSERT INTO log (who) VALUES ('api 2')"))  # back at once: queues behind the engine
    first.commit()
    waiter.join(30)
    with engine.connect() as conn:
        order = [row[0] for row in conn.execute(text("SELECT who FROM log ORDER BY n"))]
    first.close()
    assert order == ["api 1", "engine", "api 2"]


def test_a_thread_never_waits_for_itself(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.connect() as one:
        one.execute(text("INSERT INTO log (who) VALUES ('one')"))
        other = make_engine(f"sqlite:///{tmp_path / 'turns.db'}", busy_timeout_ms=200)
        with other.connect() as two, pytest.raises(Exception, match="database is locked"):
            two.execute(text("INSERT INTO log (who) VALUES ('two')"))  # SQLite says so, as without turns
        one.commit()
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT who FROM log"))] == ["one"]


def test_a_rollback_or_a_closed_connection_gives_the_turn_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    turns = _turns_for(str(tmp_path / "turns.db"))
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO log (who) VALUES ('x')"))
        assert turns._holder is not None
        conn.rollback()
        assert turns._holder is None
        conn.execute(text("INSERT INTO log (who) VALUES ('y')"))
    assert turns._holder is None
