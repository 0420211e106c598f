"""The engine on an event loop of its own, in a thread of its own (``olive.api._engine_loop``).

Each side is blocked outright (a callback that waits on a threading.Event holds the
loop) and the other must still do its work: deterministic, no timing asserted.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine as SqlEngine
from tests.api.conftest import LiveApi, start_live_api, stop_live_api

from olive.api._engine_loop import EngineLoop
from olive.engine import BusEvent, Engine, EngineState, EventBus, Subscription
from olive.errors import Conflict
from olive.store import make_sessionmaker


@pytest.fixture
def api(db_engine: SqlEngine) -> Iterator[LiveApi]:
    sessions = make_sessionmaker(db_engine)
    live = start_live_api(sessions, engine_factory=lambda: Engine(sessions, {}, tick_s=0.1))
    yield live
    stop_live_api(live)


class Blocked:
    """Hold ``loop`` in one callback until released."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        loop.call_soon_threadsafe(self._hold)
        assert self.held.wait(30), "the loop never ran the blocking callback"

    def _hold(self) -> None:
        self.held.set()
        self.release.wait(120)

    def __enter__(self) -> Blocked:
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()


def test_olive_serve_runs_the_engine_on_a_loop_and_thread_of_its_own(api: LiveApi) -> None:
    engine_loop = api.app.state.olive.engine_loop
    assert engine_loop.thread is not None and engine_loop.thread.is_alive()
    assert engine_loop.loop is not api.loop
    assert api.engine.state is EngineState.RUNNING


def test_the_engine_ticks_while_the_api_loop_is_blocked(api: LiveApi) -> None:
    with Blocked(api.loop):
        # On the engine's loop; with the engine on the serving loop these would never run.
        api.run(api.engine.next_tick(), timeout=60)
        api.run(api.engine.next_tick(), timeout=60)
        assert api.engine.health.tick_failures == 0


def test_health_answers_while_the_engine_loop_is_blocked_and_ready_says_so(api: LiveApi) -> None:
    with api.client() as client:
        assert client.get("/ready").json()["engine"] == "running"
        with Blocked(api.engine_loop):
            health = client.get("/health")
            assert health.status_code == 200
            assert health.json() == {"status": "ok"}
            ready = client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["engine"] == "not_answering"
            assert ready.json()["status"] == "not_ready"
        ready = client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["engine"] == "running"


def test_health_is_answered_before_the_other_layers(api: LiveApi) -> None:
    """The same body as the documented route's; no key needed; the route stays in the schema."""
    with api.client() as client:
        health = client.get("/health?probe=1")
        assert health.status_code == 200
        assert health.headers["content-type"] == "application/json"
        assert health.json() == {"status": "ok"}
        assert "/health" in client.get("/openapi.json").json()["paths"]
        assert client.post("/health").status_code == 405  # only GET is answered early


def test_a_verb_run_on_the_engine_loop_returns_its_result_and_raises_its_error(api: LiveApi) -> None:
    engine_loop: EngineLoop = api.app.state.olive.engine_loop

    async def where() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def refuse() -> None:
        raise Conflict("no agents")

    async def from_the_api() -> tuple[asyncio.AbstractEventLoop, asyncio.AbstractEventLoop]:
        ran_on = await engine_loop.call(where())
        read_on = await engine_loop.read(asyncio.get_running_loop)
        with pytest.raises(Conflict, match="no agents"):
            await engine_loop.call(refuse())
        return ran_on, read_on

    ran_on, read_on = asyncio.run_coroutine_threadsafe(from_the_api(), api.loop).result(60)
    assert ran_on is engine_loop.loop
    assert read_on is engine_loop.loop


def test_the_bus_hands_an_event_to_a_subscriber_on_another_loop() -> None:
    bus = EventBus()
    subscriber_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=subscriber_loop.run_forever, daemon=True)
    thread.start()
    try:

        async def subscribe() -> Subscription:
            return bus.subscribe(None)

        sub = asyncio.run_coroutine_threadsafe(subscribe(), subscriber_loop).result(30)

        async def publish() -> BusEvent:  # on a loop of its own, as the engine's is
            return bus.publish("call", 1.0, {"call_id": "c1"})

        published = asyncio.run(publish())

        async def receive() -> BusEvent:
            return await sub.queue.get()

        received = asyncio.run_coroutine_threadsafe(receive(), subscriber_loop).result(30)
        assert received == published
    finally:
        subscriber_loop.call_soon_threadsafe(subscriber_loop.stop)
        thread.join(30)
    subscriber_loop.close()

    async def publish_again() -> None:
        bus.publish("call", 2.0, {"call_id": "c2"})  # its loop is closed: dropped, no error

    asyncio.run(publish_again())
    assert sub not in bus._subs  # type: ignore[attr-defined]
