"""Serving the app with uvicorn inside an existing asyncio loop, next to the engine."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from olive.api._deps import ApiContext


class ApiServer(uvicorn.Server):
    """uvicorn's server; when shutdown begins, open event streams are told to end."""

    def __init__(self, app: FastAPI, config: uvicorn.Config, on_started: Callable[[str], None] | None = None) -> None:
        super().__init__(config)
        self.olive_app = app
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_started is not None and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            self.on_started(f"http://{host if ':' not in host else f'[{host}]'}:{port}")

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        context: ApiContext = self.olive_app.state.olive
        context.closing.set()
        await super().shutdown(sockets)


def unavailable(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served (taken, not an address here), or None.

    Asked before anything starts, so a second ``olive serve`` or ``olive demo`` says so
    plainly instead of failing halfway with a traceback.
    """
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server does
            probe.bind(address)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def make_server(
    app: FastAPI,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    access_log: bool = True,
    on_started: Callable[[str], None] | None = None,
) -> ApiServer:
    """A server for ``app``; ``on_started`` is told the URL it listens on (port 0 picks a free one)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    return ApiServer(app, config, on_started)


__all__ = ["ApiServer", "make_server", "unavailable"]
