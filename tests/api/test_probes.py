"""/ready says 503 when the database or the engine is not there (real servers on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine as SqlEngine

from olive.ami import ServerConfig
from olive.engine import DialingLease, Engine, EngineState
from olive.engine._health import FAILING_AFTER
from olive.store import make_engine, make_sessionmaker

from .conftest import closed_port, start_live_api, stop_live_api


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
    body = ready.json()
    assert {k: body[k] for k in ("status", "database", "engine", "asterisk")} == {
        "status": "not_ready",
        "database": "ok",
        "engine": "created",
        "asterisk": {},
    }
    assert body["health"]["tick_failures"] == 0
    assert health.status_code == 200


def test_ticks_failing_in_a_row_make_it_not_ready(db_engine: SqlEngine) -> None:
    """A running engine whose every tick fails is not dialing: /ready says so, and why."""
    sessions = make_sessionmaker(db_engine)

    def failing() -> Engine:
        engine = Engine(sessions, {"pbx1": ServerConfig(port=closed_port())})
        engine.state = EngineState.RUNNING  # as if started; its loop is not needed here
        engine.links["pbx1"].event_clock.ignored = 2
        for _ in range(FAILING_AFTER):
            engine.health.tick_failed(ValueError("year -29605 is out of range"))
        return engine

    api = start_live_api(sessions, engine_factory=failing, manage_engine=False)
    try:
        with httpx.Client(base_url=api.url) as client:
            ready = client.get("/ready")
            assert ready.status_code == 503
            body = ready.json()
            assert body["status"] == "not_ready" and body["engine"] == "running"
            assert body["health"]["tick_failures_in_a_row"] == FAILING_AFTER
            assert "year -29605" in body["health"]["last_tick_error"]
            assert body["health"]["events"]["pbx1"] == {"malformed": 0, "failed": 0, "timestamps_ignored": 2}
            api.engine.health.tick_ok()
            assert client.get("/ready").status_code == 200
    finally:
        stop_live_api(api)


def test_database_unreachable(tmp_path: Path) -> None:
    broken = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'olive.db'}")
    ready, health = _ready(broken)
    assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
    assert health.status_code == 200


def test_a_node_that_lost_the_dialing_lease_is_not_ready(db_engine: SqlEngine) -> None:
    sessions = make_sessionmaker(db_engine)

    def fenced() -> Engine:
        lease = DialingLease(sessions, "node-b")
        lease.note = "node node-a holds the dialing lease of this database"
        engine = Engine(sessions, {}, lease=lease)
        engine.state = EngineState.RUNNING
        return engine

    api = start_live_api(sessions, engine_factory=fenced, manage_engine=False)
    try:
        with httpx.Client(base_url=api.url) as client:
            ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["dialing_lease"] == "node node-a holds the dialing lease of this database"
    finally:
        stop_live_api(api)
