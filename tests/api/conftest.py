"""A real olive API server on loopback for each test module, over a real database.

``live_api`` runs uvicorn on 127.0.0.1 (an ephemeral port) in a thread with its
own event loop, serving ``create_app`` with an engine, on the module's
database (SQLite, then PostgreSQL: see tests/conftest.py). Tables are emptied
after each test (``db_clean``). ``admin``, ``viewer`` and ``anon`` are httpx
clients with an admin key, a viewer key and no key.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from olive.ami import ServerConfig
from olive.api import create_app
from olive.api._server import ApiServer, make_server
from olive.engine import Engine
from olive.store import create_api_key, make_sessionmaker, transaction

T = TypeVar("T")


@dataclass
class LiveApi:
    url: str
    sessions: sessionmaker[Session]
    engine: Engine
    app: FastAPI
    server: ApiServer
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the engine's event loop (its own thread's, or the server's)."""
        return asyncio.run_coroutine_threadsafe(coro, self.engine_loop).result(timeout)

    @property
    def engine_loop(self) -> asyncio.AbstractEventLoop:
        return self.app.state.olive.engine_loop.loop or self.loop

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kwargs)


def start_live_api(
    sessions: sessionmaker[Session],
    servers: Mapping[str, ServerConfig] | None = None,
    *,
    engine_factory: Callable[[], Engine] | None = None,
    manage_engine: bool = True,
    **app_options: Any,
) -> LiveApi:
    engine = engine_factory() if engine_factory else Engine(sessions, dict(servers or {}), tick_s=0.1)
    app = create_app(sessions, engine, manage_engine=manage_engine, **app_options)
    # uvicorn binds port 0 itself (a socket handed to it answers each request 40 ms late).
    server = make_server(app, "127.0.0.1", 0, log_level="warning", access_log=False)
    loops: list[asyncio.AbstractEventLoop] = []

    def serve() -> None:
        loop = asyncio.new_event_loop()
        loops.append(loop)
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve())
        finally:
            # An event stream still open when the server stops leaves its task pending: end it here,
            # as asyncio.run would, rather than let it die with the closed loop.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=serve, name="olive-api-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test API server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return LiveApi(f"http://127.0.0.1:{port}", sessions, engine, app, server, thread, loops[0])


def stop_live_api(api: LiveApi) -> None:
    api.server.should_exit = True
    api.thread.join(60)


def closed_port() -> int:
    """A loopback port nothing listens on (an Asterisk that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def live_api(db_engine: SqlEngine) -> Iterator[LiveApi]:
    """The API with an engine whose one Asterisk server, ``default``, is down: campaigns
    start (and wait for it), agents log in; no call is placed."""
    down = ServerConfig("127.0.0.1", closed_port(), "olive", "not-a-real-secret")
    api = start_live_api(make_sessionmaker(db_engine), {"default": down})
    yield api
    stop_live_api(api)


@dataclass(frozen=True)
class Keys:
    admin: str
    viewer: str


@pytest.fixture
def keys(live_api: LiveApi, db_clean: SqlEngine) -> Keys:
    with transaction(live_api.sessions) as session:
        _, admin = create_api_key(session, "test admin", "admin")
        _, viewer = create_api_key(session, "test viewer", "viewer")
    return Keys(admin, viewer)


@pytest.fixture
def admin(live_api: LiveApi, keys: Keys) -> Iterator[httpx.Client]:
    with live_api.client(keys.admin) as client:
        yield client


@pytest.fixture
def viewer(live_api: LiveApi, keys: Keys) -> Iterator[httpx.Client]:
    with live_api.client(keys.viewer) as client:
        yield client


@pytest.fixture
def anon(live_api: LiveApi, keys: Keys) -> Iterator[httpx.Client]:
    with live_api.client() as client:
        yield client


@dataclass
class ServedApi:
    """``olive serve`` in a child process: the real command, on loopback."""

    url: str
    sessions: sessionmaker[Session]
    process: subprocess.Popen[str]
    output: list[str]

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kwargs)

    def stop(self) -> int:
        """SIGINT, as Ctrl-C would; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def serve(db_url: str, *args: str, env: Mapping[str, str] | None = None) -> ServedApi:
    """Start ``olive serve --port 0`` on ``db_url``; wait until it says where it listens."""
    command = [sys.executable, "-c", "from olive.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", "0", "--database-url", db_url, *args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})}
    )
    assert process.stdout is not None
    output: list[str] = []
    url = None
    for line in process.stdout:
        output.append(line)
        if match := re.search(r"olive serve: listening on (http://127\.0\.0\.1:\d+)", line):
            url = match.group(1)
            break
    if url is None:
        process.wait(10)
        raise RuntimeError("olive serve did not start:\n" + "".join(output))
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()
    from olive.store import make_engine

    return ServedApi(url, make_sessionmaker(make_engine(db_url)), process, output)
