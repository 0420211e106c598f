"""The byte streams an AMI connection runs over: TCP, or a pipe in memory.

The client and the simulator only read, write and close bytes, so either can
run over any stream pair with asyncio's reader/writer surface, as httpx runs
over a ``MockTransport``. :func:`memory_pipe` gives two connected ends in
memory: a test attaches the simulated PBX to the engine with no socket, and
what each side writes is what the other reads, byte for byte.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol


class ByteReader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class Abortable(Protocol):
    def abort(self) -> None: ...


class ByteWriter(Protocol):
    @property
    def transport(self) -> Abortable: ...
    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...
    async def wait_closed(self) -> None: ...
    async def drain(self) -> None: ...
    def get_extra_info(self, name: str, default: Any = None) -> Any: ...


# Opens one connection: the client calls it at every (re)connect.
Connector = Callable[[], Awaitable[tuple[ByteReader, ByteWriter]]]


def tcp_connector(host: str, port: int) -> Connector:
    async def connect() -> tuple[ByteReader, ByteWriter]:
        return await asyncio.open_connection(host, port)

    return connect


_pipes = itertools.count(1)


class _Pipe:
    """Two one-way byte channels; closing either end closes both, as TCP's FIN/RST would."""

    def __init__(self) -> None:
        self.number = next(_pipes)
        self.closed = False
        self.readers = (asyncio.StreamReader(), asyncio.StreamReader())

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for reader in self.readers:
            reader.feed_eof()


class MemoryWriter:
    """One end's writing side: bytes go straight to the other end's reader."""

    def __init__(self, pipe: _Pipe, side: int) -> None:
        self._pipe = pipe
        self._side = side

    @property
    def transport(self) -> MemoryWriter:
        return self  # ``writer.transport.abort()`` works as on a socket

    def write(self, data: bytes) -> None:
        if not self._pipe.closed and data:  # a closed socket drops writes too
            self._pipe.readers[1 - self._side].feed_data(bytes(data))

    def close(self) -> None:
        self._pipe.close()

    def abort(self) -> None:
        self._pipe.close()

    def is_closing(self) -> bool:
        return self._pipe.closed

    async def wait_closed(self) -> None:
        await asyncio.sleep(0)

    async def drain(self) -> None:
        await asyncio.sleep(0)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name in ("peername", "sockname"):
            return (f"memory-{self._pipe.number}", self._side if name == "sockname" else 1 - self._side)
        return default


def memory_pipe() -> tuple[tuple[asyncio.StreamReader, MemoryWriter], tuple[asyncio.StreamReader, MemoryWriter]]:
    """Two connected ends ``(reader, writer)``: the client's and the server's. Call it
    inside a running event loop."""
    pipe = _Pipe()
    return (pipe.readers[0], MemoryWriter(pipe, 0)), (pipe.readers[1], MemoryWriter(pipe, 1))


__all__ = ["ByteReader", "ByteWriter", "Connector", "MemoryWriter", "memory_pipe", "tcp_connector"]
