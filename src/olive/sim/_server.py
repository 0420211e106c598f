"""AMI sessions over TCP or in memory: one codec and event filter per session."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import TYPE_CHECKING

from olive.ami import (
    CLOSED,
    NEED_DATA,
    Action,
    AMICodec,
    AMIError,
    Banner,
    ByteReader,
    ByteWriter,
    Event,
    MalformedMessage,
    Response,
    Role,
)
from olive.sim._actions import dispatch

if TYPE_CHECKING:
    from olive.sim._pbx import SimulatedPBX

__all__ = ["BANNER", "AMISession"]

log = logging.getLogger("olive.sim")
BANNER = "Asterisk Call Manager/11.0.0"
_ids = itertools.count(1)


class AMISession:
    def __init__(self, pbx: SimulatedPBX, reader: ByteReader, writer: ByteWriter) -> None:
        self.id = next(_ids)
        self.pbx = pbx
        self.reader = reader
        self.writer = writer
        self.codec = AMICodec(Role.SERVER)
        self.authenticated = False
        self.username: str | None = None
        self.event_mask = 0
        self.closed = False
        peer = writer.get_extra_info("peername") or ("?", 0)
        sock = writer.get_extra_info("sockname") or ("?", 0)
        self.remote = f"{peer[0]}/{peer[1]}"
        self.local = f"{sock[0]}/{sock[1]}"

    def send(self, message: Event | Response | Banner) -> None:
        if self.closed:
            return
        try:
            self.writer.write(self.codec.send(message))
        except AMIError:
            log.exception("the simulator built an AMI message it cannot send")
        except (ConnectionError, RuntimeError):
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ValueError):
            self.pbx.core.sessions.remove(self)
        self.writer.close()

    def abort(self) -> None:
        """Drop the TCP connection at once, as a crash or a network failure would."""
        transport = self.writer.transport
        self.closed = True
        with contextlib.suppress(ValueError):
            self.pbx.core.sessions.remove(self)
        transport.abort()

    async def run(self) -> None:
        self.pbx.core.sessions.append(self)
        self.send(Banner(BANNER))
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                arrival = self.pbx.core.clock.now()
                self.codec.receive_data(data)
                while not self.closed:
                    message = self.codec.next_message()
                    if message is NEED_DATA or message is CLOSED:
                        break
                    self.pbx.core.sched.run_now(lambda m=message: self._handle(m), at=arrival)  # type: ignore[misc]
                if not data:
                    break
                await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.close()

    def _handle(self, message: object) -> None:
        if isinstance(message, Action):
            self.pbx.record(self, message)
            if self.pbx.shutting_down:  # manager.c's process_message(), before any other check
                headers = [("Response", "Error")]
                if message.action_id:
                    headers.append(("ActionID", message.action_id))
                self.send(Response((*headers, ("Message", "Asterisk is shutting down"))))
                return
            if self.authenticated and self.pbx.swallowed(self, message):
                return
            dispatch(self.pbx, self, message)
        elif isinstance(message, MalformedMessage):
            # Asterisk keeps the lines it can read; without an Action header it says so.
            self.send(Response((("Response", "Error"), ("Message", "Missing action in request"))))
        else:
            self.send(Response((("Response", "Error"), ("Message", "Missing action in request"))))
