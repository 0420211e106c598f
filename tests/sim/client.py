"""A small AMI test client over real TCP, for the simulator's tests."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from olive.ami import AMICodec, Banner, Event, Response, Role, action

_ids = itertools.count(1)


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.codec = AMICodec(Role.CLIENT)
        self.messages: list[Banner | Response | Event] = []
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(65536):
                self.codec.receive_data(data)
                while isinstance(m := self.codec.next_message(), (Banner, Response, Event)):
                    self.messages.append(m)
                self._changed.set()
        except ConnectionError:
            pass
        self.closed.set()
        self._changed.set()

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def send_plain(self, name: str, *headers: tuple[str, str]) -> str:
        """Write an action without olive's checks (Getvar/Setvar carry ``Variable: NAME``,
        which olive.ami's action() refuses as an Originate assignment)."""
        aid = f"t{next(_ids)}"
        lines = [f"Action: {name}", f"ActionID: {aid}", *(f"{n}: {v}" for n, v in headers)]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        return aid

    def send(self, name: str, *headers: tuple[str, str], **fields: object) -> str:
        aid = f"t{next(_ids)}"
        self.writer.write(self.codec.send(action(name, [("ActionID", aid), *headers], **fields)))
        return aid

    async def wait_for(self, predicate: Callable[[Banner | Response | Event], bool], timeout: float = 5.0) -> Banner | Response | Event:
        async def find() -> Banner | Response | Event:
            while True:
                for m in self.messages:
                    if predicate(m):
                        return m
                if self.closed.is_set():
                    raise AssertionError("connection closed before the message came")
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def response(self, aid: str, timeout: float = 5.0) -> Response:
        m = await self.wait_for(lambda m: isinstance(m, Response) and m.action_id == aid, timeout)
        assert isinstance(m, Response)
        return m

    async def event(self, name: str, timeout: float = 5.0, **fields: str) -> Event:
        def match(m: Banner | Response | Event) -> bool:
            return isinstance(m, Event) and m.name == name and all(m.get(k) == v for k, v in fields.items())

        m = await self.wait_for(match, timeout)
        assert isinstance(m, Event)
        return m

    def events(self, name: str | None = None) -> list[Event]:
        return [m for m in self.messages if isinstance(m, Event) and (name is None or m.name == name)]

    async def login(self, events: str | None = "on") -> Response:
        headers = [("Username", "olive"), ("Secret", "olive")]
        if events is not None:
            headers.append(("Events", events))
        return await self.response(self.send("Login", *headers))

    async def close(self) -> None:
        self.writer.close()
        self._task.cancel()
