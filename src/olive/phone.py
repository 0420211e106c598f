"""Phone numbers: normalised to E.164 with phonenumbers, and their time zones."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import timezone as pn_timezone

from olive.controls import control_error

_UNKNOWN_ZONES = {"Etc/Unknown", ""}


class InvalidNumber(ValueError):
    """A number that cannot be dialed, with the reason in plain words."""


def normalize(raw: str, region: str = "US") -> str:
    """``raw`` as E.164 (``+15551234567``), reading national numbers in ``region``."""
    if region == PRIVATE:
        return private_number(raw)
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber("empty phone number")
    if problem := control_error(text):
        raise InvalidNumber(f"phone number {problem}")
    try:
        parsed = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"not a phone number: {text!r} ({exc._msg})") from None
    if parsed.extension:
        # olive dials numbers, not extensions: storing it shortened would ring the switchboard.
        raise InvalidNumber(
            f"phone number {text!r} has extension {parsed.extension}: olive cannot dial extensions; "
            "give the number without it"
        )
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber(f"impossible number for its country: {text!r}")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"not a valid number: {text!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def time_zones(e164: str) -> tuple[str, ...]:
    """IANA time zones the number may be in (several for some area codes); () if unknown."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = pn_timezone.time_zones_for_number(parsed)
    return tuple(z for z in zones if z not in _UNKNOWN_ZONES)


def dial_digits(e164: str, fmt: str = "e164") -> str:
    """The number as the trunk wants it: ``e164`` (+1555...), ``digits`` (1555...)."""
    return e164.lstrip("+") if fmt == "digits" else e164


#: The "region" of a dial list whose numbers follow a private numbering plan
#: (lab or internal extensions such as 1001): not checked against any country.
PRIVATE = "private"
_PRIVATE_NUMBER = re.compile(r"\+?[0-9*#]{1,32}")


def private_number(raw: str) -> str:
    """``raw`` as a private-plan number: only digits, ``*`` and ``#`` (a leading ``+`` kept).

    No country rules, but nothing that could break the dial string or an AMI
    header (line breaks, control characters, spaces, ``/`` or ``@``) gets through.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber("empty phone number")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidNumber("phone number contains a line break or control character")
    if not _PRIVATE_NUMBER.fullmatch(text):
        raise InvalidNumber(
            f"not a private-plan number: {text!r} (only digits, * and #, with an optional leading +; at most 32)"
        )
    return text


__all__ = ["PRIVATE", "InvalidNumber", "dial_digits", "normalize", "private_number", "time_zones"]
