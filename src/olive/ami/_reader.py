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
_LINE_END = re.compile(rb"\n")


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

    However the bytes are cut into reads, the same frames come out. A message
    longer than ``max_message_bytes`` becomes one :class:`MalformedMessage`
    (its first bytes, for the log) and the rest of it, up to its blank line,
    is discarded, so its tail can never pass for a message of its own.
    """

    _PREVIEW = 200  # bytes of an oversized message kept in its MalformedMessage

    def __init__(self, *, expect_banner: bool, max_message_bytes: int = 1 << 20) -> None:
        self._buffer = bytearray()
        self._expect_banner = expect_banner
        self._max = max_message_bytes
        self._eof = False
        self._scanned = 0  # leading bytes of the buffer already searched for an end
        self._skip_to: re.Pattern[bytes] | None = None  # discarding an oversized frame

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
        if self._skip_to is not None and not self._skip():
            return None
        if self._expect_banner:
            return self._next_banner()
        # Stray blank lines between messages carry nothing.
        while self._buffer[:2] == b"\r\n" or self._buffer[:1] == b"\n":
            del self._buffer[: 2 if self._buffer[:1] == b"\r" else 1]
            self._scanned = 0
        end = self._find(_MESSAGE_END)
        if end is None:
            # The longest end is 4 bytes: past max + 4 bytes none can still come in time.
            if len(self._buffer) >= self._max + 4:
                return self._oversized(_MESSAGE_END)
            return self._tail()
        start, stop = end
        if start > self._max:
            return self._oversized(_MESSAGE_END)
        raw = bytes(self._buffer[:start])
        self._consume(stop)
        return parse_message(raw)

    def _next_banner(self) -> ParsedMessage | None:
        end = self._find(_LINE_END)
        if end is None:
            if len(self._buffer) > self._max:
                return self._oversized(_LINE_END)
            return self._tail()
        start, stop = end
        if start > self._max:
            return self._oversized(_LINE_END)
        line = bytes(self._buffer[:start]).rstrip(b"\r")
        self._consume(stop)
        self._expect_banner = False
        return Banner(decode(line))

    def _find(self, pattern: re.Pattern[bytes]) -> tuple[int, int] | None:
        """Where the first ``pattern`` is, searching only bytes not searched before."""
        # An end is at most 4 bytes long, so one starting 3 bytes back may have been cut.
        match = pattern.search(self._buffer, max(0, self._scanned - 3))
        if match is None:
            self._scanned = len(self._buffer)
            return None
        return match.start(), match.end()

    def _consume(self, n: int) -> None:
        del self._buffer[:n]
        self._scanned = 0

    def _oversized(self, end: re.Pattern[bytes]) -> MalformedMessage:
        """Report an oversized frame once and discard it up to ``end``."""
        raw = bytes(self._buffer[: min(self._PREVIEW, self._max)])
        self._expect_banner = False
        self._skip_to = end
        return MalformedMessage(raw, f"message longer than {self._max} bytes")

    def _skip(self) -> bool:
        """Discard the oversized frame; True once its end has gone by."""
        assert self._skip_to is not None
        end = self._find(self._skip_to)
        if end is None:
            if self._eof:
                self._buffer.clear()
                self._skip_to = None
            else:
                keep = min(3, len(self._buffer))  # an end may be cut between reads
                del self._buffer[: len(self._buffer) - keep]
                self._scanned = keep
            return False
        self._consume(end[1])
        self._skip_to = None
        return True

    def _tail(self) -> ParsedMessage | None:
        if self._eof and self._buffer.strip():
            raw = bytes(self._buffer)
            self._consume(len(raw))
            return MalformedMessage(raw, "stream ended inside a message")
        if self._eof:
            self._consume(len(self._buffer))
        return None
