"""SQLite's write lock held by another connection: the API answers 503 with Retry-After."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import make_url

from olive.store import make_engine

from .test_overload import PLAN, admin_key, api_client, assert_overloaded, plans_named


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


@pytest.fixture
def dialing_engine(db_clean: SqlEngine) -> SqlEngine:
    return db_clean


@pytest.fixture
def sqlite_lock(db_url: str) -> Iterator[sqlite3.Connection]:
    holder = sqlite3.connect(make_url(db_url).database or "", isolation_level=None, timeout=0)
    yield holder
    holder.close()


def test_a_held_sqlite_write_lock_is_503_with_retry_after(
    dialing_engine: SqlEngine, db_url: str, sqlite_lock: sqlite3.Connection
) -> None:
    key = admin_key(dialing_engine)
    api_engine = make_engine(db_url, busy_timeout_ms=200)
    try:
        with api_client(api_engine, dialing_engine) as client:
            client.headers["Authorization"] = f"Bearer {key}"
            assert client.get("/plans").status_code == 200  # WAL: readers are not blocked
            sqlite_lock.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
            try:
                assert_overloaded(client.post("/plans", json=PLAN), "the database is busy")
            finally:
                sqlite_lock.execute("ROLLBACK")
            assert plans_named(dialing_engine, "overload") == 0
            assert client.post("/plans", json=PLAN).status_code == 201
    finally:
        api_engine.dispose()
