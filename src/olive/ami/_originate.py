"""Building the Originate action a dialer sends.

Asterisk's Originate ``Timeout`` is in **milliseconds**: ``Timeout: 30``
hangs up every call 30 ms after it starts ringing (transcript 06). olive
keeps dial timeouts in seconds everywhere and converts here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from olive.ami._errors import AMIValueError
from olive.ami._messages import Action, Header, action

MIN_DIAL_TIMEOUT_S = 1
MAX_DIAL_TIMEOUT_S = 300


def dial_timeout_ms(seconds: float) -> int:
    """The Originate Timeout for a dial timeout given in seconds (1..300 s)."""
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
    headers.extend(("Variable", f"{name}={value}") for name, value in req.variables.items())
    headers.append(("Async", "true"))
    return action("Originate", headers)
