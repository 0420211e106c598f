"""The last check before every Originate: may this contact be dialed now?

The engine asks its :class:`DialGuard` right before each dial, inside the
transaction that claims the contact, so a number added to the do-not-call
list a second ago, or a calling window that just closed, stops the call.
The compliance module provides the real guard; :class:`AllowAll` is for
tests that are about something else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from olive.store import Campaign, Contact, ContactNumber


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str = ""
    retry_at: float | None = None  # when the reason clears (None: never, e.g. DNC)
    status: str | None = None  # a contact status to set when refused for good ("dnc")


ALLOW = Verdict(True)


class DialGuard(Protocol):
    def check(self, session: Session, campaign: Campaign, contact: Contact, number: ContactNumber, now: float) -> Verdict:
        ...


class AllowAll:
    def check(self, session: Session, campaign: Campaign, contact: Contact, number: ContactNumber, now: float) -> Verdict:
        return ALLOW


__all__ = ["ALLOW", "AllowAll", "DialGuard", "Verdict"]
