"""Control characters: refused in anything that reaches Asterisk, a log, a CSV or a screen.

CR and LF would split an AMI action in two; the others do quieter harm: ESC
and the C1 controls drive terminals, TAB, VT, FF, NEL (U+0085) and the line
and paragraph separators (U+2028/2029) break lines and columns, and the
invisible format characters (bidi overrides, zero-width) make one string
look like another. One definition, used by the AMI writer, the specs
(campaign files and API), the API's text fields and the imports.
"""

from __future__ import annotations

import unicodedata
from typing import Final

#: A regex character-class body (no brackets) of the refused characters: every Cc (C0,
#: DEL, C1 with NEL), Cf (format: bidi, zero-width, ...), Zl and Zp code point of Unicode 14.
CONTROL_CLASS: Final = (
    r"\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    r"\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    r"\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
#: A whole string without any of them.
NO_CONTROL_PATTERN: Final = rf"^[^{CONTROL_CLASS}]*$"

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_SHORT = {0x09: "TAB", 0x0A: "LF", 0x0B: "VT", 0x0C: "FF", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL", 0x85: "NEL", 0x00: "NUL"}


def find_control(text: str) -> str | None:
    """The first refused character of ``text``, described (``U+001B (ESC)``); None if clean."""
    for ch in text:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return describe(ch)
    return None


def describe(ch: str) -> str:
    name = _SHORT.get(ord(ch)) or unicodedata.name(ch, "control")
    return f"U+{ord(ch):04X} ({name})"


def control_error(text: str) -> str | None:
    """``"contains a control character: U+001B (ESC)"``, or None."""
    found = find_control(text)
    return None if found is None else f"contains a control character: {found}"


__all__ = ["CONTROL_CLASS", "NO_CONTROL_PATTERN", "control_error", "describe", "find_control"]
