"""A sans-I/O AMI codec, shaped like h11's Connection.

Three verbs: :meth:`AMICodec.receive_data` (bytes in; ``b""`` means EOF),
:meth:`AMICodec.next_message` (a typed message, ``NEED_DATA`` or ``CLOSED``),
and :meth:`AMICodec.send` (a message out as bytes). It does no I/O and keeps
no clock, so the same code serves olive's client and the simulated PBX.
"""

from __future__ import annotations

import enum

from olive.ami._errors import AMIValueError
from olive.ami._messages import (
    CLOSED,
    NEED_DATA,
    Action,
    Banner,
    Event,
    Message,
    ParsedMessage,
    Response,
    _Sentinel,
)
from olive.ami._reader import FrameReader
from olive.ami._writer import serialize


class Role(enum.Enum):
    CLIENT = "client"  # olive: reads a banner, then responses and events; writes actions
    SERVER = "server"  # the simulator: writes a banner, responses and events; reads actions


class AMICodec:
    def __init__(self, role: Role = Role.CLIENT, *, max_message_bytes: int = 1 << 20) -> None:
        self.role = role
        self._reader = FrameReader(
            expect_banner=role is Role.CLIENT, max_message_bytes=max_message_bytes
        )

    def receive_data(self, data: bytes) -> None:
        self._reader.feed(data)

    def next_message(self) -> ParsedMessage | _Sentinel:
        ready = self._reader.ready
        if ready:  # already framed: skip the reader's checks (one call per message saved)
            return ready.popleft()
        frame = self._reader.next_frame()
        if frame is not None:
            return frame
        return CLOSED if self._reader.at_eof else NEED_DATA

    def send(self, message: Message | Banner) -> bytes:
        if self.role is Role.CLIENT and not isinstance(message, Action):
            raise AMIValueError(f"a client sends actions, not {type(message).__name__}")
        if self.role is Role.SERVER and not isinstance(message, (Banner, Response, Event)):
            raise AMIValueError(f"a server sends banners, responses and events, not {type(message).__name__}")
        return serialize(message)
