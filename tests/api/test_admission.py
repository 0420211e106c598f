"""API load is bounded: few threads for sync endpoints, 503 with Retry-After past the in-flight limit,
and the probes answer while the API is saturated (a real server on loopback)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select

from olive.api._admission import API_THREADS, AdmissionState, exempt
from olive.engine import Engine
from olive.store import DncNumber, create_api_key, make_sessionmaker, transaction

from .conftest import LiveApi, start_live_api, stop_live_api


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


class Blocker:
    """A sync route that holds its thread until released, counting who got a thread."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = 0
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, int]:
        with self._lock:
            self.entered += 1
        self.release.wait(30)
        return {"entered": self.entered}


def _serve(db_engine: SqlEngine, **options: int) -> tuple[LiveApi, Blocker, str]:
    sessions = make_sessionmaker(db_engine)
    api = start_live_api(sessions, engine_factory=lambda: Engine(sessions, {}), manage_engine=False, **options)
    blocker = Blocker()
    api.app.add_api_route("/test-block", blocker, methods=["GET"])

    async def tokens() -> dict[str, float]:
        return {"tokens": anyio.to_thread.current_default_thread_limiter().total_tokens}

    api.app.add_api_route("/test-tokens", tokens, methods=["GET"])
    with transaction(sessions) as s:
        _, key = create_api_key(s, "admission", role="admin")
    return api, blocker, str(key)


@pytest.fixture
def saturated(db_engine: SqlEngine) -> Iterator[tuple[LiveApi, Blocker, str]]:
    """One API thread, two requests in flight at most: both taken by blocked requests."""
    api, blocker, key = _serve(db_engine, api_threads=1, max_in_flight=2)
    state: AdmissionState = api.app.state.olive.admission
    results: list[httpx.Response] = []

    def hold() -> None:
        with httpx.Client(base_url=api.url, timeout=60) as client:
            results.append(client.get("/test-block"))

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for t in holders:
        t.start()
    deadline = time.monotonic() + 20
    while (state.in_flight < 2 or blocker.entered < 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert state.in_flight == 2 and blocker.entered == 1
    try:
        yield api, blocker, key
    finally:
        blocker.release.set()
        for t in holders:
            t.join(30)
        stop_live_api(api)
    assert [r.status_code for r in results] == [200, 200]


def test_the_default_thread_limiter_is_bounded(db_engine: SqlEngine) -> None:
    api, _, _ = _serve(db_engine)
    try:
        with httpx.Client(base_url=api.url) as client:
            assert client.get("/test-tokens").json() == {"tokens": API_THREADS}
    finally:
        stop_live_api(api)


def test_a_saturated_api_answers_503_with_retry_after(saturated: tuple[LiveApi, Blocker, str]) -> None:
    api, blocker, key = saturated
    with api.client(key) as client:
        for path in ("/campaigns", "/test-block"):
            r = client.get(path)
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "1"
            assert r.json()["code"] == "overloaded"
        r = client.post("/dnc", json={"number": "+13035550100"})
        assert r.status_code == 503 and r.json()["code"] == "overloaded"
    assert blocker.entered == 1  # the second held request is still waiting for the one thread
    assert api.app.state.olive.admission.refused == 3
    with transaction(api.sessions) as s:  # the refused write stored nothing
        assert s.scalar(select(func.count()).select_from(DncNumber)) == 0


def test_probes_answer_while_the_api_is_saturated(saturated: tuple[LiveApi, Blocker, str]) -> None:
    api, _, _ = saturated
    with httpx.Client(base_url=api.url, timeout=10) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")  # its database check has a thread of its own
        assert ready.status_code == 503 and ready.json()["database"] == "ok"  # 503: the engine is not started


def test_the_api_answers_again_once_requests_finish(db_engine: SqlEngine) -> None:
    api, blocker, key = _serve(db_engine, api_threads=1, max_in_flight=1)
    blocker.release.set()
    try:
        with api.client(key) as client:
            for _ in range(3):  # one at a time never reaches the limit
                assert client.get("/campaigns").status_code == 200
        assert api.app.state.olive.admission.refused == 0
        # The middleware counts a request out once its response is sent, a moment after the
        # client has it: wait for that (a deadline, not a timing assertion).
        admission = api.app.state.olive.admission
        deadline = time.monotonic() + 10
        while admission.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert admission.in_flight == 0
    finally:
        stop_live_api(api)


def test_event_streams_and_probes_are_not_counted() -> None:
    assert exempt("/health") and exempt("/ready") and exempt("/metrics")
    assert exempt("/events") and exempt("/agent/events")
    assert not exempt("/campaigns") and not exempt("/dnc") and not exempt("/calls")


def test_an_import_under_way_does_not_hold_the_api_s_one_thread(db_engine: SqlEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Imports run on a limiter of their own: with one API thread, other requests are still answered."""
    from olive.api._contacts import service as contacts_service

    entered, finish = threading.Event(), threading.Event()
    real = contacts_service.import_csv

    def slow_import(*args: object) -> object:
        entered.set()
        finish.wait(30)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(contacts_service, "import_csv", slow_import)
    api, _, key = _serve(db_engine, api_threads=1)
    results: list[httpx.Response] = []
    try:
        with api.client(key) as client:
            list_id = client.post("/dial-lists", json={"name": "while importing"}).json()["id"]

        def post_import() -> None:
            with api.client(key) as client:
                results.append(
                    client.post(
                        f"/dial-lists/{list_id}/contacts/import",
                        content=b"phone\n+13035550100\n",
                        headers={"content-type": "text/csv"},
                    )
                )

        importer = threading.Thread(target=post_import)
        importer.start()
        assert entered.wait(20)
        with api.client(key) as client:
            assert client.get("/campaigns", timeout=10).status_code == 200  # the import holds no API thread
        finish.set()
        importer.join(30)
        assert results and results[0].status_code in (200, 201), results[0].text if results else None
    finally:
        finish.set()
        stop_live_api(api)
