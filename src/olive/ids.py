"""Stable, sortable, prefixed string ids: ``call_01JD3...``.

A ULID body (48-bit millisecond time + 80 random bits, Crockford base32)
sorts by creation time, which keeps indexes and logs in order. The prefix
says what the id names. Call ids are also sent to Asterisk as ChannelId, so
they stay within AMI's safe characters.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(now: float | None = None) -> str:
    ms = int((time.time() if now is None else now) * 1000)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str, now: float | None = None) -> str:
    return f"{prefix}_{ulid(now)}"
