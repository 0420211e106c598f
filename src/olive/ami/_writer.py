"""Turning messages into bytes, checking every name and value on the way.

No value may carry CR, LF or another control character: ``1001\\r\\nAction: Command`` in a phone number
would otherwise become a second action. Like h11's header checks, the write
is refused whole and nothing is produced.
"""

from __future__ import annotations

import re

from olive.ami._errors import AMIValueError
from olive.ami._messages import Action, Banner, Header, Message
from olive.controls import CONTROL_CLASS, describe

_NAME = re.compile(r"[A-Za-z0-9_\-]+\Z")
_FORBIDDEN = re.compile(f"[{CONTROL_CLASS}]")  # CR/LF split actions; the rest have no business in AMI

SECRET_HEADERS = frozenset({"secret", "key"})
"""Headers whose values never appear in a log line or an error message."""


def check_header(name: str, value: str) -> None:
    """Refuse a header that cannot be written as one ``Name: value`` line.

    The error names the header and, unless it is a secret, shows the value.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise AMIValueError(f"illegal AMI header name {name!r}")
    if not isinstance(value, str):
        raise AMIValueError(f"AMI header {name} must be text, got {type(value).__name__}")
    bad = _FORBIDDEN.search(value)
    shown = "(secret not shown)" if name.lower() in SECRET_HEADERS else repr(value)
    if bad:
        raise AMIValueError(
            f"AMI header {name} contains a control character {describe(bad.group())} "
            f"(CR, LF and every other control character are refused): {shown}"
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise AMIValueError(f"AMI header {name} is not valid Unicode text: {shown}") from None


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_()\-]*\Z")


def check_variable(assignment: str) -> None:
    """``Variable: NAME=value``: the name part must be a plain identifier."""
    name, sep, _ = assignment.partition("=")
    if not sep or not _VARIABLE_NAME.match(name):
        raise AMIValueError(f"illegal channel variable assignment {assignment!r}")


# Names joined by ":" (which no name may hold): the whole matches, in as many parts as there
# are names, if and only if each name would.
_NAMES = re.compile(r"[A-Za-z0-9_\-]+(?::[A-Za-z0-9_\-]+)*\Z")


def _all_clean(headers: tuple[Header, ...]) -> bool:
    """True if every header would pass :func:`check_header`, tested on all names and all
    values at once (one regex each instead of one per header). The checks are on single
    code points, so a joined string holds a refused one if and only if some part does."""
    try:
        names = ":".join([n for n, _ in headers])
        values = "".join([v for _, v in headers])
    except TypeError:  # a name or a value that is not text: the careful path names it
        return False
    # The count: a name holding ":" would pass as two.
    if not _NAMES.match(names) or names.count(":") != len(headers) - 1 or _FORBIDDEN.search(values):
        return False
    if not values.isascii():
        try:
            values.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            return False
    return True


def check_headers(headers: tuple[Header, ...], *, assignments: bool = True) -> None:
    """Check every header; ``assignments``: ``Variable:`` lines are ``NAME=value``
    (Originate); otherwise (Getvar, Setvar) they name one variable.

    Speed: all names and all values are checked at once (then only the
    ``Variable:`` lines one by one); only if that finds something is each header
    checked in turn, so the error is the one the first bad header gives."""
    if headers and _all_clean(headers):
        for name, value in headers:
            if len(name) == 8 and name.lower() == "variable":
                _check_variable_line(value, assignments)
        return
    for name, value in headers:
        check_header(name, value)
        if name.lower() == "variable":
            _check_variable_line(value, assignments)


def _check_variable_line(value: str, assignments: bool) -> None:
    if assignments:
        check_variable(value)
    elif not _VARIABLE_NAME.match(value):
        raise AMIValueError(f"illegal channel variable name {value!r}")


def assigns_variables(message: Message) -> bool:
    """Only Originate's ``Variable:`` lines are ``NAME=value`` assignments."""
    return isinstance(message, Action) and message.name.lower() == "originate"


def serialize_headers(headers: tuple[Header, ...], *, assignments: bool = True) -> bytes:
    """``assignments``: ``Variable:`` lines are ``NAME=value`` (actions). In events
    such as VarSet the header holds just the variable's name."""
    check_headers(headers, assignments=assignments)
    return ("".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n").encode("utf-8")


def serialize(message: Message | Banner) -> bytes:
    if isinstance(message, Banner):
        check_header("Banner", message.text)
        return message.text.encode("utf-8") + b"\r\n"
    if isinstance(message, Action):
        return serialize_headers(message.headers, assignments=assigns_variables(message))
    # In events (VarSet) the header is the variable's name and may be anything Asterisk sent.
    check_headers_loose(message.headers)
    return ("".join(f"{name}: {value}\r\n" for name, value in message.headers) + "\r\n").encode("utf-8")


def check_headers_loose(headers: tuple[Header, ...]) -> None:
    if headers and _all_clean(headers):
        return
    for name, value in headers:
        check_header(name, value)
