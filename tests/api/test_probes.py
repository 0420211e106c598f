"""/ready says 503 when the database or the engine is not there (real servers on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine as SqlEngine

from olive.engine import Engine
from olive.store import make_engine, make_sessionmaker

from .conftest import start_live_api, stop_live_api


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


def _ready(sessions_engine: SqlEngine) -> Iterator[httpx.Response]:
    sessions = make_sessionmaker(sessions_engine)
    api = start_live_api(sessions, engine_factory=lambda: Engine(sessions, {}), manage_engine=False)
    try:
        with httpx.Client(base_url=api.url) as client:
            yield client.get("/ready")
            yield client.get("/health")
    finally:
        stop_live_api(api)


def test_engine_not_running(db_engine: SqlEngine) -> None:
    ready, health = _ready(db_engine)
    assert ready.status_code == 503
    assert ready.json() == {"status": "not_ready", "database": "ok", "engine": "created", "asterisk": {}}
    assert health.status_code == 200


def test_database_unreachable(tmp_path: Path) -> None:
    broken = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'olive.db'}")
    ready, health = _ready(broken)
    assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
    assert health.status_code == 200
