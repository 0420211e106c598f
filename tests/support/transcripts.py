"""Reading the recorded Asterisk 22 AMI transcripts (tests/fixtures/asterisk-22).

Each raw message is preceded by a ``#   +S.SSSs recv|sent`` line; the file
shows ``\\r\\n`` as plain newlines and a blank line after each message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk-22"
TRANSCRIPTS = ROOT / "transcripts"
_MARK = re.compile(r"^#\s+([+-]\d+\.\d+)s (recv|sent)$")


@dataclass(frozen=True)
class Entry:
    t: float  # seconds relative to the first Originate
    direction: str  # "recv" (from Asterisk) or "sent" (to Asterisk)
    lines: tuple[str, ...]

    @property
    def is_banner(self) -> bool:
        return self.direction == "recv" and len(self.lines) == 1 and ":" not in self.lines[0]

    def wire(self) -> bytes:
        """The bytes as they crossed the socket."""
        if self.is_banner:
            return (self.lines[0] + "\r\n").encode()
        return ("".join(line + "\r\n" for line in self.lines) + "\r\n").encode()

    def headers(self) -> list[tuple[str, str]]:
        out = []
        for line in self.lines:
            name, _, value = line.partition(":")
            out.append((name, value[1:] if value.startswith(" ") else value))
        return out

    def get(self, name: str) -> str | None:
        for n, v in self.headers():
            if n.lower() == name.lower():
                return v
        return None


@dataclass(frozen=True)
class Transcript:
    name: str
    header: str
    entries: tuple[Entry, ...]

    def received(self) -> list[Entry]:
        return [e for e in self.entries if e.direction == "recv"]

    def sent(self) -> list[Entry]:
        return [e for e in self.entries if e.direction == "sent"]

    def received_bytes(self) -> bytes:
        return b"".join(e.wire() for e in self.received())

    def originate(self) -> Entry:
        return next(e for e in self.sent() if e.get("Action") == "Originate")


_RAW = "# ===== FULL RAW TRANSCRIPT"


def names() -> list[str]:
    """The full recordings (each with its Originate and raw, timed transcript)."""
    return sorted(p.stem for p in TRANSCRIPTS.glob("*.txt") if _RAW in p.read_text())


def fragment_names() -> list[str]:
    """Files that hold only a few recorded events (no Originate, no times), such as 18."""
    return sorted(p.stem for p in TRANSCRIPTS.glob("*.txt") if _RAW not in p.read_text())


@cache
def load_fragment(name: str) -> tuple[Entry, ...]:
    """A fragment's events, each as a received entry at t=0 (their Timestamp headers keep Asterisk's time)."""
    text = (TRANSCRIPTS / f"{name}.txt").read_text()
    blocks = [b for b in text.split("\n\n") if b.strip()]
    entries = []
    for block in blocks:
        lines = tuple(line for line in block.split("\n") if line and not line.startswith("#"))
        if lines:
            entries.append(Entry(0.0, "recv", lines))
    return tuple(entries)


@cache
def load(name: str) -> Transcript:
    text = (TRANSCRIPTS / f"{name}.txt").read_text()
    head, _, raw = text.partition(_RAW)
    raw = raw.split("\n", 1)[1]
    entries: list[Entry] = []
    current: tuple[float, str] | None = None
    lines: list[str] = []
    for line in raw.split("\n"):
        mark = _MARK.match(line)
        if mark:
            current = (float(mark.group(1)), mark.group(2))
            lines = []
            continue
        if line == "":
            if current is not None and lines:
                entries.append(Entry(current[0], current[1], tuple(lines)))
            current, lines = None, []
            continue
        if current is not None:
            lines.append(line)
    if current is not None and lines:
        entries.append(Entry(current[0], current[1], tuple(lines)))
    return Transcript(name, head, tuple(entries))
