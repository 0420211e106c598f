"""Serving the app with uvicorn inside an existing asyncio loop, next to the engine."""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from olive.api._deps import ApiContext


class ApiServer(uvicorn.Server):
    """uvicorn's server; when shutdown begins, open event streams are told to end."""

    def __init__(self, app: FastAPI, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.olive_app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        context: ApiContext = self.olive_app.state.olive
        context.closing.set()
        await super().shutdown(sockets)


def make_server(app: FastAPI, host: str, port: int, *, log_level: str = "info", access_log: bool = True) -> ApiServer:
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
    return ApiServer(app, config)


__all__ = ["ApiServer", "make_server"]
