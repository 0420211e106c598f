"""Helpers for olive.ami's tests: driving the sans-I/O codec the way h11's tests do."""

from __future__ import annotations

import re
from collections.abc import Iterable

from olive.ami import CLOSED, NEED_DATA, AMICodec, Role
from olive.ami._messages import ParsedMessage, _Sentinel
from support import transcripts

_RECV_MARK = re.compile(r"^#\s+[+-]\d+\.\d+s recv$", re.MULTILINE)
_SENT_MARK = re.compile(r"^#\s+[+-]\d+\.\d+s sent$", re.MULTILINE)


def drain(codec: AMICodec) -> list[ParsedMessage]:
    """Every message the codec can give now, stopping at NEED_DATA or CLOSED."""
    out: list[ParsedMessage] = []
    while True:
        msg = codec.next_message()
        if isinstance(msg, _Sentinel):
            assert msg is NEED_DATA or msg is CLOSED
            return out
        out.append(msg)


def feed_all(
    chunks: Iterable[bytes], role: Role = Role.CLIENT, *, eof: bool = True, **kwargs: int
) -> list[ParsedMessage]:
    """Feed ``chunks`` one by one, pulling after each, then EOF; all the messages."""
    codec = AMICodec(role, **kwargs)
    out: list[ParsedMessage] = []
    for chunk in chunks:
        if not chunk:
            continue  # b"" would mean end of stream
        codec.receive_data(chunk)
        out += drain(codec)
    if eof:
        codec.receive_data(b"")
        out += drain(codec)
        assert codec.next_message() is CLOSED
    return out


def split(data: bytes, sizes: Iterable[int]) -> list[bytes]:
    """``data`` cut into chunks of ``sizes`` (cycled); the last chunk takes the rest."""
    sizes = list(sizes) or [len(data) or 1]
    chunks, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        chunks.append(data[i : i + n])
        i, k = i + n, k + 1
    return chunks


def recorded_count(name: str, direction: str = "recv") -> int:
    """How many messages the raw transcript file marks as received (or sent).

    Counted from the ``#   +S.SSSs recv`` marker lines of the file itself, not
    through the transcript reader, so it is an independent oracle.
    """
    text = (transcripts.TRANSCRIPTS / f"{name}.txt").read_text()
    raw = text.partition("# ===== FULL RAW TRANSCRIPT")[2]
    mark = _RECV_MARK if direction == "recv" else _SENT_MARK
    return len(mark.findall(raw))
