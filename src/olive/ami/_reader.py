"""Framing and parsing of inbound AMI bytes.

Bytes are framed first (on the blank line that ends every message) and only
then decoded, so a UTF-8 character split across two TCP reads is never
damaged, unlike decoding each chunk as it arrives.

Speed: every whole message in the buffer is framed at once. When those bytes
end their lines with CRLF only (what Asterisk sends) they are decoded in one
go and each message is cut into "Name: value" lines, a line passing only if
its name is one already found well formed. Anything else (a bare LF, invalid
UTF-8, a new or bad name, an oversized message) takes the careful path,
message by message; both give the same messages (a property test checks it).
"""

from __future__ import annotations

import re
from collections import deque

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
# Header names already found well formed ("Name", no blanks around it).
# Asterisk uses a few hundred; the cap keeps a peer that invents names from
# growing it (those messages just take the careful path).
_GOOD_NAMES: set[str] = set()
_GOOD_NAMES_CAP = 4096
_KINDS: dict[str, type[Event] | type[Response] | type[Action]] = {
    "event": Event,
    "response": Response,
    "action": Action,
}


def decode(raw: bytes) -> str:
    """UTF-8 when valid, else Latin-1, which maps every byte and so loses nothing."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _utf8_or_none(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_headers(raw: bytes) -> tuple[Header, ...] | str:
    """Headers of one framed message, or the reason it is malformed."""
    return _headers_of(decode(raw))


def _headers_of(text: str) -> tuple[Header, ...] | str:
    headers: list[Header] = []
    for line in _LINE_SPLIT.split(text):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            return f"header line without 'Name: value' form: {line[:80]!r}"
        # One space follows the colon; anything after it, trailing blanks too, is value.
        headers.append((name, value[1:] if value.startswith(" ") else value))
    if not headers:
        return "empty message"
    if len(_GOOD_NAMES) < _GOOD_NAMES_CAP:
        _GOOD_NAMES.update(name for name, _ in headers)
    return tuple(headers)


def parse_message(raw: bytes) -> ParsedMessage:
    parsed = parse_headers(raw)
    if isinstance(parsed, str):
        return MalformedMessage(raw, parsed)
    return _typed(parsed, raw)


def _typed(headers: tuple[Header, ...], raw: bytes | str) -> ParsedMessage:
    # Asterisk puts Response or Event first; OriginateResponse events also carry
    # a Response header, so Event wins when it comes first.
    kind = _KINDS.get(headers[0][0].lower())
    if kind is not None:
        return kind(headers)
    names = {n.lower() for n, _ in headers}
    for name, later in _KINDS.items():
        if name in names:
            return later(headers)
    if isinstance(raw, str):
        raw = raw.encode("utf-8")  # the exact bytes: they decoded as UTF-8
    return MalformedMessage(raw, "message has no Event, Response or Action header")


def _parse_text(text: str) -> list[ParsedMessage]:
    """Messages of ``text``, whole messages whose every line ends with CRLF.

    A line keeps the fast path only if it reads "Name: value" with a name
    already found well formed; any other message is parsed with every check.
    """
    out: list[ParsedMessage] = []
    good = _GOOD_NAMES
    for piece in text.split("\r\n\r\n"):
        while piece[:2] == "\r\n":  # stray blank lines between messages
            piece = piece[2:]
        if not piece:
            continue
        # A known name has no colon, so ": " is where its first colon is.
        headers = tuple(
            [(p[0], p[2]) for line in piece.split("\r\n") if (p := line.partition(": "))[1] and p[0] in good]
        )
        if len(headers) != piece.count("\r\n") + 1:
            checked = _headers_of(piece)
            if isinstance(checked, str):
                out.append(MalformedMessage(piece.encode("utf-8"), checked))
                continue
            headers = checked
        kind = _KINDS.get(headers[0][0].lower())
        out.append(kind(headers) if kind is not None else _typed(headers, piece))
    return out


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
    _bulk = True  # frame every whole message at once (tests turn it off to compare)

    def __init__(self, *, expect_banner: bool, max_message_bytes: int = 1 << 20) -> None:
        self._buffer = bytearray()
        self._expect_banner = expect_banner
        self._max = max_message_bytes
        self._eof = False
        self._scanned = 0  # leading bytes of the buffer already searched for an end
        self._skip_to: re.Pattern[bytes] | None = None  # discarding an oversized frame
        self._ready: deque[ParsedMessage] = deque()  # framed, not yet returned

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
    def ready(self) -> deque[ParsedMessage]:
        """Messages framed and parsed, not yet returned (the codec pops them directly)."""
        return self._ready

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def next_frame(self) -> ParsedMessage | None:
        """Next parsed message, or None when more bytes are needed."""
        if self._ready:
            return self._ready.popleft()
        if self._skip_to is not None and not self._skip():
            return None
        if self._expect_banner:
            return self._next_banner()
        if self._bulk and self._frame_all():
            return self._ready.popleft()
        return self._next_one()

    def _frame_all(self) -> bool:
        """Frame every whole message in the buffer at once; False if that needs the careful path."""
        buffer = self._buffer
        end = buffer.rfind(b"\r\n\r\n", max(0, self._scanned - 3))
        if end < 0:
            return False
        region = bytes(buffer[:end])
        while region[-2:] == b"\r\n":  # the last end overlapped blank lines: "X\r\n\r\n\r\n"
            region = region[:-2]
        if region.count(b"\n") != region.count(b"\r\n"):
            return False  # a bare LF: message ends the fast split cannot see
        del buffer[: end + 4]
        self._scanned = 0
        # Within the limit, no message in it is oversized.
        text = _utf8_or_none(region) if len(region) <= self._max else None
        if text is not None:
            self._ready.extend(_parse_text(text))
        else:
            for piece in region.split(b"\r\n\r\n"):
                while piece[:2] == b"\r\n":
                    piece = piece[2:]
                if len(piece) > self._max:
                    self._ready.append(
                        MalformedMessage(piece[: min(self._PREVIEW, self._max)], f"message longer than {self._max} bytes")
                    )
                elif piece:
                    self._ready.append(parse_message(piece))
        return bool(self._ready)

    def _next_one(self) -> ParsedMessage | None:
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
