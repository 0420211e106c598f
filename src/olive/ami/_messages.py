"""AMI messages as frozen, slotted dataclasses.

A message is an ordered sequence of ``(name, value)`` headers. Names compare
case-insensitively, repeated names are kept (``Variable:`` lines), and every
header is kept raw: a header olive does not model is still there, never
turned into an empty attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

Header = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Message:
    """Common behaviour of every header-based AMI message."""

    headers: tuple[Header, ...]

    def get(self, name: str, default: str | None = None) -> str | None:
        """Value of the first header called ``name`` (any case), else ``default``."""
        key = name.lower()
        if key.isascii():
            # Only a name of the same length can match an ASCII key, so most
            # headers are passed over without lower-casing them.
            size = len(key)
            for n, v in self.headers:
                if len(n) == size and (n == name or n.lower() == key):
                    return v
            return default
        for n, v in self.headers:
            if n.lower() == key:
                return v
        return default

    def get_all(self, name: str) -> tuple[str, ...]:
        key = name.lower()
        return tuple(v for n, v in self.headers if n.lower() == key)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Header]:
        return iter(self.headers)

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")


@dataclass(frozen=True, slots=True)
class Banner:
    """The first line Asterisk sends, e.g. ``Asterisk Call Manager/11.0.0``."""

    text: str

    @property
    def version(self) -> str:
        return self.text.rpartition("/")[2]


@dataclass(frozen=True, slots=True)
class Response(Message):
    """Asterisk's answer to one action, matched by ActionID."""

    @property
    def response(self) -> str:
        return self.get("Response") or ""

    @property
    def ok(self) -> bool:
        return self.response.lower() in ("success", "goodbye", "follows")

    @property
    def message(self) -> str | None:
        return self.get("Message")

    @property
    def starts_list(self) -> bool:
        return (self.get("EventList") or "").lower() == "start"


@dataclass(frozen=True, slots=True)
class Event(Message):
    """An unsolicited or list event."""

    @property
    def name(self) -> str:
        headers = self.headers
        if headers and headers[0][0] == "Event":  # where Asterisk puts it
            return headers[0][1]
        return self.get("Event") or ""

    @property
    def completes_list(self) -> bool:
        return (self.get("EventList") or "").lower() == "complete"


@dataclass(frozen=True, slots=True)
class Action(Message):
    """An action sent to Asterisk (or received, by the simulator).

    Build one with :func:`action`, which checks every value; they are checked
    again when the action is turned into bytes, so a CR/LF never leaves olive.
    """

    @property
    def name(self) -> str:
        return self.get("Action") or ""

    def with_action_id(self, action_id: str) -> Action:
        rest = tuple((n, v) for n, v in self.headers if n.lower() != "actionid")
        return Action((rest[0], ("ActionID", action_id), *rest[1:]))


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """A framed message that could not be parsed. Kept whole so nothing is lost."""

    raw: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class _Sentinel:
    name: str = field(default="")

    def __repr__(self) -> str:
        return self.name


NEED_DATA = _Sentinel("NEED_DATA")
"""Returned by the codec when more bytes are needed to complete a message."""

CLOSED = _Sentinel("CLOSED")
"""Returned by the codec after end of stream, once every message was read."""


def action(name: str, headers: Iterable[Header] = (), /, **fields: object) -> Action:
    """Build an action: ``action("QueuePause", Queue="q", Interface="PJSIP/101", Paused=True)``.

    Keyword values are rendered with :func:`render_value`; ``None`` omits the header.
    Positional ``headers`` keep order and allow repeats (``Variable``).
    Every name and value is checked now (:class:`AMIValueError`), and again
    when the action is turned into bytes.
    """
    from olive.ami._writer import check_headers  # the writer imports this module

    out: list[Header] = [("Action", name)]
    out.extend(headers)
    for key, value in fields.items():
        if value is None:
            continue
        out.append((key, render_value(value)))
    check_headers(tuple(out), assignments=name.lower() == "originate")
    return Action(tuple(out))


def render_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


ParsedMessage = Banner | Response | Event | Action | MalformedMessage
