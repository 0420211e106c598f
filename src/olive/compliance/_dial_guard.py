"""The last check before every Originate: may this contact be dialed now?

The engine asks its :class:`DialGuard` right before each dial, inside the
transaction that claims the contact, so a number added to the do-not-call
list a second ago, or a calling window that just closed, stops the call.
:class:`~olive.compliance.ComplianceGuard` is the real guard, and the engine uses it unless
told otherwise; :class:`AllowAll` is for tests that are about something else.

A guard may also observe (:class:`DialObserver`): the engine calls its
``dialed`` once the contact is claimed and its call row written, in the
same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class DialObserver(Protocol):
    """Optional guard hooks, called inside the tick's transaction."""

    def dialed(self, session: Session, campaign: Campaign, contact: Contact, call_id: str, now: float) -> None:
        ...


class AllowAll:
    def check(self, session: Session, campaign: Campaign, contact: Contact, number: ContactNumber, now: float) -> Verdict:
        return ALLOW


__all__ = ["ALLOW", "AllowAll", "DialGuard", "DialObserver", "Verdict"]
