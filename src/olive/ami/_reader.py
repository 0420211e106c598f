"""Framing and parsing of inbound AMI bytes.

Bytes are framed first (on the blank line that ends every message) and only
then decoded, so a UTF-8 character split across two TCP reads is never
damaged, unlike decoding each chunk as it arrives.
"""

from __future__ import annotations

import re

from olive.ami._messages import (
    Action,
    Banner,
    Event,
    Header,
    MalformedMessage,
    ParsedMessage,
    Response,
)

# Asterisk ends lines with CRLF; a bare LF is accepted from lenient peers.
_MESSAGE_END = re.compile(rb"\r?\n\r?\n")
_LINE_SPLIT = re.compile(r"\r?\n")


def decode(raw: bytes) -> str:
    """UTF-8 when valid, else Latin-1, which maps every byte and so loses nothing."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_headers(raw: bytes) -> tuple[Header, ...] | str:
    """Headers of one framed message, or the reason it is malformed."""
    headers: list[Header] = []
    for line in _LINE_SPLIT.split(decode(raw)):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            return f"header line without 'Name: value' form: {line[:80]!r}"
        # One space follows the colon; anything after it, trailing blanks too, is value.
        headers.append((name, value[1:] if value.startswith(" ") else value))
    if not headers:
        return "empty message"
    return tuple(headers)


def parse_message(raw: bytes) -> ParsedMessage:
    parsed = parse_headers(raw)
    if isinstance(parsed, str):
        return MalformedMessage(raw, parsed)
    first = parsed[0][0].lower()
    names = {n.lower() for n, _ in parsed}
    # Asterisk puts Response or Event first; OriginateResponse events also carry
    # a Response header, so Event wins when it comes first.
    if first == "event":
        return Event(parsed)
    if first == "response":
        return Response(parsed)
    if first == "action":
        return Action(parsed)
    if "event" in names:
        return Event(parsed)
    if "response" in names:
        return Response(parsed)
    if "action" in names:
        return Action(parsed)
    return MalformedMessage(raw, "message has no Event, Response or Action header")


class FrameReader:
    """Accumulates bytes and yields whole frames.

    ``expect_banner`` makes the first frame a single line (the client side of
    AMI starts with ``Asterisk Call Manager/x.y.z`` and no blank line).
    """

    def __init__(self, *, expect_banner: bool, max_message_bytes: int = 1 << 20) -> None:
        self._buffer = bytearray()
        self._expect_banner = expect_banner
        self._max = max_message_bytes
        self._eof = False

    def feed(self, data: bytes) -> None:
        if self._eof and data:
            raise RuntimeError("data received after end of stream")
        if data:
            self._buffer += data
        else:
            self._eof = True

    @property
    def at_eof(self) -> bool:
        return self._eof

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def next_frame(self) -> ParsedMessage | None:
        """Next parsed message, or None when more bytes are needed."""
        if self._expect_banner:
            end = self._buffer.find(b"\n")
            if end < 0:
                return self._oversize_or_tail()
            line = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[: end + 1]
            self._expect_banner = False
            return Banner(decode(line))
        # Stray blank lines between messages carry nothing.
        while self._buffer[:2] == b"\r\n" or self._buffer[:1] == b"\n":
            del self._buffer[: 2 if self._buffer[:1] == b"\r" else 1]
        match = _MESSAGE_END.search(self._buffer)
        if match is None:
            return self._oversize_or_tail()
        raw = bytes(self._buffer[: match.start()])
        del self._buffer[: match.end()]
        if len(raw) > self._max:
            return MalformedMessage(raw[:200], f"message of {len(raw)} bytes exceeds {self._max}")
        return parse_message(raw)

    def _oversize_or_tail(self) -> ParsedMessage | None:
        if len(self._buffer) > self._max:
            raw = bytes(self._buffer)
            self._buffer.clear()
            return MalformedMessage(raw[:200], f"no message end within {self._max} bytes")
        if self._eof and self._buffer.strip():
            raw = bytes(self._buffer)
            self._buffer.clear()
            return MalformedMessage(raw, "stream ended inside a message")
        if self._eof:
            self._buffer.clear()
        return None
