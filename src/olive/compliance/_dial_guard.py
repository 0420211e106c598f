"""The last check before every Originate: may this contact be dialed now?

The engine asks its :class:`DialGuard` right before each dial, inside the
transaction that claims the contact, so a number added to the do-not-call
list a second ago, or a calling window that just closed, stops the call.
:class:`~olive.compliance.ComplianceGuard` is the real guard, and the engine uses it unless
told otherwise; :class:`AllowAll` (no rule at all) is for tests and benchmarks
that are about something else (benchmarks/engine_load.py measures the engine
without the guard's reads).

A guard may also observe (:class:`DialObserver`): the engine calls its
``dialed`` once the contact is claimed and its call row written, in the
same transaction. And it may read ahead (:class:`DialPreparer`): the engine
calls its ``prepare`` with the tick's candidates before the first ``check``,
so it can read what it weighs for all of them in a few statements. And it
may keep records (:class:`DialRecorder`): the engine calls its
``write_records`` once the tick's calls are written, in the same transaction.

The contact is a :class:`~olive.store.DialContact`: the plain, immutable row
the tick picked (:class:`~olive.store.DueContact`), or an ORM ``Contact``.
A guard changes nothing on it; a refusal says what to change
(``Verdict.status``, ``Verdict.retry_at``) and the engine writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from olive.store import Campaign, DialContact, DialNumber


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str = ""
    retry_at: float | None = None  # when the reason clears (None: never, e.g. DNC)
    status: str | None = None  # a contact status to set when refused for good ("dnc")


ALLOW = Verdict(True)


class DialGuard(Protocol):
    def check(
        self,
        session: Session,
        campaign: Campaign,
        contact: DialContact,
        number: DialNumber,
        now: float,
    ) -> Verdict: ...


@runtime_checkable
class DialObserver(Protocol):
    """Optional guard hooks, called inside the tick's transaction."""

    def dialed(
        self, session: Session, campaign: Campaign, contact: DialContact, call_id: str, now: float
    ) -> None: ...


@runtime_checkable
class DialPreparer(Protocol):
    """Optional guard hook: the tick's candidates, before the first ``check`` (same transaction)."""

    def prepare(
        self, session: Session, campaign: Campaign, candidates: Sequence[DialContact], now: float
    ) -> None: ...


@runtime_checkable
class DialRecorder(Protocol):
    """Optional guard hook: the tick's calls are written (and ``dialed`` called for each);
    write what its checks recorded, in the same transaction."""

    def write_records(self, session: Session) -> None: ...


class AllowAll:
    """A guard that allows every dial: never for a real campaign. It stays in olive, not
    tests/, because benchmarks/engine_load.py uses it to time the engine alone."""

    def check(
        self,
        session: Session,
        campaign: Campaign,
        contact: DialContact,
        number: DialNumber,
        now: float,
    ) -> Verdict:
        return ALLOW


__all__ = ["ALLOW", "AllowAll", "DialGuard", "DialObserver", "DialPreparer", "DialRecorder", "Verdict"]
