"""A small AMI server on 127.0.0.1 for the client's tests.

It speaks through ``AMICodec(Role.SERVER)``, so what it sends is checked by
the same writer olive uses, and it records every byte and action it gets.
Tests script it with per-action handlers; nothing here sleeps: tests wait
on :meth:`FakeAsterisk.wait_for` and on the client's own futures.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from olive.ami import CLOSED, NEED_DATA, Action, AMICodec, Banner, Event, Response, Role
from support import transcripts

Handler = Callable[["Session", Action], Awaitable[None] | None]
BANNER = Banner("Asterisk Call Manager/11.0.0")


@dataclass(eq=False)
class Session:
    """One accepted connection."""

    server: FakeAsterisk
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    codec: AMICodec = field(default_factory=lambda: AMICodec(Role.SERVER))
    raw: bytearray = field(default_factory=bytearray)  # every byte the client sent
    actions: list[Action] = field(default_factory=list)
    logged_in: bool = False

    def send(self, *messages: Response | Event | Banner) -> None:
        for message in messages:
            self.writer.write(self.codec.send(message))

    def respond(self, act: Action, response: str = "Success", **headers: str) -> None:
        out = [("Response", response)]
        if act.action_id is not None:
            out.append(("ActionID", act.action_id))
        out += list(headers.items())
        self.send(Response(tuple(out)))

    def event(self, name: str, **headers: str) -> None:
        self.send(Event((("Event", name), *headers.items())))

    def drop(self) -> None:
        """Cut the connection at once, as a crashed Asterisk or a dead link would."""
        self.writer.transport.abort()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


class FakeAsterisk:
    def __init__(self, *, username: str = "olive", secret: str = "s3cr3t-olive") -> None:
        self.username, self.secret = username, secret
        self.sessions: list[Session] = []
        self.handlers: dict[str, Handler] = {
            "login": self._login,
            "logoff": self._logoff,
            "ping": self._ping,
        }
        self.default: Handler = lambda s, a: s.respond(a)
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # -- scripting -------------------------------------------------------------
    def on(self, name: str, handler: Handler) -> None:
        self.handlers[name.lower()] = handler

    def hold(self, name: str) -> None:
        """Never answer ``name`` (a hung Asterisk, or an answer lost on the wire)."""
        self.on(name, lambda s, a: None)

    @property
    def actions(self) -> list[Action]:
        return [a for s in self.sessions for a in s.actions]

    def count(self, name: str) -> int:
        return sum(1 for a in self.actions if a.name.lower() == name.lower())

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate`` holds; it is checked whenever the server sees something.

        The timeout only turns a broken test into a failure instead of a hang.
        """
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_action(self, name: str, n: int = 1) -> Action:
        """The ``n``-th ``name`` action received (1-based), once it has arrived."""
        await self.wait_for(lambda: self.count(name) >= n)
        return [a for a in self.actions if a.name.lower() == name.lower()][n - 1]

    async def wait_logins(self, n: int) -> Session:
        await self.wait_for(lambda: sum(s.logged_in for s in self.sessions) >= n)
        return [s for s in self.sessions if s.logged_in][n - 1]

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for s in self.sessions:
            s.drop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        session = Session(self, reader, writer)
        self.sessions.append(session)
        session.send(BANNER)
        try:
            await self._serve(session)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            async with self._changed:
                self._changed.notify_all()

    async def _serve(self, session: Session) -> None:
        while True:
            data = await session.reader.read(65536)
            session.raw += data
            session.codec.receive_data(data)
            while True:
                msg = session.codec.next_message()
                if msg is NEED_DATA:
                    break
                if msg is CLOSED:
                    return
                assert isinstance(msg, Action), msg
                session.actions.append(msg)
                handler = self.handlers.get(msg.name.lower(), self.default)
                result = handler(session, msg)
                if result is not None:
                    await result
                async with self._changed:
                    self._changed.notify_all()

    # -- default handlers ----------------------------------------------------------
    def _login(self, session: Session, act: Action) -> Awaitable[None] | None:
        if act.get("Username") == self.username and act.get("Secret") == self.secret:
            session.respond(act, Message="Authentication accepted")
            if (act.get("Events") or "on").lower() == "on":  # system class: see transcript 17
                session.event("FullyBooted", Privilege="system,all", Status="Fully Booted")
            session.logged_in = True
            return None
        session.respond(act, "Error", Message="Authentication failed")
        return session.close()

    def _logoff(self, session: Session, act: Action) -> Awaitable[None]:
        session.respond(act, "Goodbye", Message="Thanks for all the fish.")
        return session.close()

    def _ping(self, session: Session, act: Action) -> None:
        session.respond(act, Ping="Pong", Timestamp="1795713233.301679")


def recorded_list(
    transcript: str, action_id: str
) -> tuple[Response, list[Event]]:
    """A list response and its events (items, then *Complete) as Asterisk sent them."""
    got = [
        e for e in transcripts.load(transcript).received() if e.get("ActionID") == action_id
    ]
    first, *rest = got
    response = Response(tuple(first.headers()))
    return response, [Event(tuple(e.headers())) for e in rest]


def with_action_id(messages: Iterable[Response | Event], action_id: str) -> list[Response | Event]:
    out: list[Response | Event] = []
    for m in messages:
        headers = tuple((n, action_id if n.lower() == "actionid" else v) for n, v in m.headers)
        out.append(type(m)(headers))
    return out


_ids = itertools.count(1)


def unrelated_event() -> Event:
    """An event no action is waiting for (with an ActionID of nobody's)."""
    return Event((("Event", "DeviceStateChange"), ("Device", f"PJSIP/{next(_ids)}"),
                  ("State", "INUSE")))
