"""Building the Originate action a dialer sends.

Asterisk's Originate ``Timeout`` is in **milliseconds**: ``Timeout: 30``
hangs up every call 30 ms after it starts ringing (transcript 06). olive
keeps dial timeouts in seconds everywhere and converts here, once.

Asterisk splits one ``Variable:`` header into several assignments at commas
(man_do_variable_value in main/manager.c uses AST_STANDARD_APP_ARGS), drops
double quotes and backslashes, and groups by () and []. Contact data is free
text, so every such character in a value is escaped with a backslash:
``NOTE=Smith, John`` would otherwise set NOTE to ``Smith``, and
``x,OLIVE_CALL_ID=...`` would overwrite olive's correlation variable.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from olive.ami._errors import AMIValueError
from olive.ami._messages import Action, Header, action

MIN_DIAL_TIMEOUT_S = 1
MAX_DIAL_TIMEOUT_S = 300


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ARG_SPECIAL = re.compile(r'([\\",()\[\]])')  # what __ast_app_separate_args interprets


def dial_timeout_ms(seconds: float) -> int:
    """The Originate Timeout for a dial timeout given in seconds (1..300 s)."""
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real):
        raise AMIValueError(f"dial timeout must be a number of seconds, got {seconds!r}")
    if not (MIN_DIAL_TIMEOUT_S <= seconds <= MAX_DIAL_TIMEOUT_S):
        raise AMIValueError(
            f"dial timeout must be {MIN_DIAL_TIMEOUT_S} to {MAX_DIAL_TIMEOUT_S} seconds, got {seconds!r}"
        )
    ms = round(seconds * 1000)
    assert ms >= 1000  # never the 30 ms trap
    return ms


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    """Everything needed for one outbound attempt."""

    call_id: str  # olive's id, sent as ChannelId so even a failure correlates
    channel: str  # e.g. PJSIP/+15551234567@trunk
    context: str  # where the answered call goes (the olive queue context)
    dial_timeout_s: float
    caller_id: str | None = None
    exten: str = "s"
    priority: int = 1
    variables: Mapping[str, str] = field(default_factory=dict)


def originate_action(req: OriginateRequest) -> Action:
    """The Async Originate for ``req``; ChannelId is olive's call id."""
    headers: list[Header] = [
        ("Channel", req.channel),
        ("Context", req.context),
        ("Exten", req.exten),
        ("Priority", str(req.priority)),
        ("Timeout", str(dial_timeout_ms(req.dial_timeout_s))),
    ]
    if req.caller_id:
        headers.append(("CallerID", req.caller_id))
    headers.append(("ChannelId", req.call_id))
    headers.extend(("Variable", variable_assignment(n, v)) for n, v in req.variables.items())
    headers.append(("Async", "true"))
    return action("Originate", headers)  # checks every value: no CR/LF leaves olive


def variable_assignment(name: str, value: str) -> str:
    """``NAME=value`` for one ``Variable:`` header, read back by Asterisk as exactly that.

    The name must be a plain identifier; in the value, each character that
    Asterisk's argument splitter interprets (``\\ " , ( ) [ ]``) is escaped.
    """
    if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
        raise AMIValueError(f"illegal channel variable name {name!r}")
    if not isinstance(value, str):
        raise AMIValueError(f"channel variable {name} must be text, got {type(value).__name__}")
    return name + "=" + _ARG_SPECIAL.sub(r"\\\1", value)
