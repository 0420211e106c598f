"""Overload is answered 503 with Retry-After, never 500, and nothing is half-stored.

Provoked for real: the API's pool (one connection) held by another session;
SQLite's write lock held by another connection.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select

from olive.api import create_app, make_api_engine
from olive.engine import Engine
from olive.store import Plan, create_api_key, make_engine, make_sessionmaker, transaction

PLAN = {"name": "overload", "channel_template": "PJSIP/{number}@trunk"}


def admin_key(engine: SqlEngine) -> str:
    with transaction(make_sessionmaker(engine)) as session:
        return create_api_key(session, "overload test", "admin")[1]


def api_client(api_engine: SqlEngine, dialing_engine: SqlEngine) -> TestClient:
    app = create_app(make_sessionmaker(api_engine), Engine(make_sessionmaker(dialing_engine), {}), manage_engine=False)
    return TestClient(app, raise_server_exceptions=False)


def plans_named(engine: SqlEngine, name: str) -> int:
    with make_sessionmaker(engine)() as session:
        return int(session.scalar(select(func.count()).select_from(Plan).where(Plan.name == name)) or 0)


def assert_overloaded(response: object, words: str) -> None:
    assert getattr(response, "status_code", None) == 503, getattr(response, "text", response)
    headers = getattr(response, "headers", {})
    assert headers["retry-after"].isdigit()
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == 503 and body["code"] == "overloaded"
    assert words in body["message"]


@pytest.fixture
def dialing_engine(db_clean: SqlEngine) -> SqlEngine:
    return db_clean


def test_an_exhausted_pool_is_503_with_retry_after(dialing_engine: SqlEngine, db_url: str) -> None:
    key = admin_key(dialing_engine)
    api_engine = make_engine(db_url, pool_size=1, max_overflow=0, pool_timeout_s=0.2)
    try:
        with api_client(api_engine, dialing_engine) as client:
            client.headers["Authorization"] = f"Bearer {key}"
            held = api_engine.connect()  # another session holds the pool's only connection
            try:
                assert_overloaded(client.get("/plans"), "every database connection is busy")
                assert_overloaded(client.post("/plans", json=PLAN), "every database connection is busy")
                assert client.get("/health").status_code == 200  # no database: still answers
            finally:
                held.close()
            assert plans_named(dialing_engine, "overload") == 0
            assert client.post("/plans", json=PLAN).status_code == 201
            assert client.get("/plans").status_code == 200
    finally:
        api_engine.dispose()


def test_the_api_engine_is_sqlite_in_wal_with_a_busy_timeout_and_its_own_pool(
    dialing_engine: SqlEngine, db_url: str, db_backend: str
) -> None:
    api_engine = make_api_engine(db_url)
    try:
        assert api_engine.pool is not dialing_engine.pool
        if db_backend == "sqlite":
            with api_engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2000
    finally:
        api_engine.dispose()
