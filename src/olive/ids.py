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


_last = [0, 0]  # the last (ms, random) used: ids made in one millisecond still sort in order


def ulid(now: float | None = None) -> str:
    ms = int((time.time() if now is None else now) * 1000)
    if ms == _last[0] and _last[1] < (1 << 80) - 1:
        rand = _last[1] + 1
    else:
        rand = int.from_bytes(os.urandom(10), "big")
    _last[0], _last[1] = ms, rand
    value = (ms << 80) | rand
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str, now: float | None = None) -> str:
    return f"{prefix}_{ulid(now)}"
