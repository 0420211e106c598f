"""Which contacts a campaign dials next: due callbacks first, then the rest.

A callback an agent scheduled goes ahead of every other contact once it is
due. Both kinds still pass the dial guard (calling hours, do-not-call, ...)
and a contact the guard puts off leaves the due set until its
``next_attempt_at``, so a callback due outside calling hours goes first when
the window opens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from olive.compliance import Verdict
from olive.store import (
    Contact,
    DueContact,
    callback_contacts,
    callback_rows,
    contacts_due,
    due_rows,
    next_attempt_due,
    numbers_in_flight,
    to_epoch,
)

C = TypeVar("C")


def callbacks_due(session: Session, campaign_id: str, now: float, limit: int) -> list[Contact]:
    """Contacts of the campaign with a scheduled callback due by ``now``, earliest callback first."""
    return callback_contacts(session, campaign_id, now, limit)


def contacts_to_dial(
    session: Session, campaign_id: str, now: float, limit: int, *, list_ids: Sequence[str] | None = None
) -> list[Contact]:
    """Up to ``limit`` contacts to offer the dial guard, due callbacks first, as ORM objects
    (the preview verbs change them). A contact whose number next in turn has a call in
    flight (any campaign) is passed over, as in :func:`rows_to_dial`.
    ``list_ids``: the campaign's dial lists if known (saves a query)."""
    first = _callbacks_first(
        callbacks_due(session, campaign_id, now, limit),
        lambda: contacts_due(session, campaign_id, now, limit, list_ids=list_ids),
        limit,
    )
    busy = numbers_in_flight(session, (n.number for c in first for n in c.numbers))
    return [
        c
        for c in first
        if not c.numbers or c.numbers[c.next_number_index % len(c.numbers)].number not in busy
    ]


def rows_to_dial(
    session: Session,
    campaign_id: str,
    now: float,
    limit: int,
    *,
    list_ids: Sequence[str] | None = None,
) -> list[DueContact]:
    """Up to ``limit`` contacts to offer the dial guard, due callbacks first, as plain rows.

    A contact whose number next in turn has a call in flight (in any
    campaign), or is the number of a contact before it in the pick, is
    passed over: one number is never dialed twice at once. It stays due and
    comes back once that call has ended.
    """
    first = _callbacks_first(
        callback_rows(session, campaign_id, now, limit),
        lambda: due_rows(session, campaign_id, now, limit, list_ids=list_ids),
        limit,
    )
    busy = {n.number for c in first for n in c.numbers if n.in_flight}
    return _one_per_number(first, busy, lambda c: None if c.to_dial is None else c.to_dial.number)


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


H = TypeVar("H", bound=_HasId)


def _callbacks_first(callbacks: list[H], due: Callable[[], list[H]], limit: int) -> list[H]:
    """Due callbacks first, then the other due contacts (read only if needed), ``limit`` in all."""
    if len(callbacks) >= limit:
        return callbacks
    taken = {c.id for c in callbacks}
    return (callbacks + [c for c in due() if c.id not in taken])[:limit]


def _one_per_number(
    contacts: list[C], busy: set[str], number_of: Callable[[C], str | None]
) -> list[C]:
    out: list[C] = []
    taken = set(busy)
    for contact in contacts:
        number = number_of(contact)
        if number is not None:
            if number in taken:
                continue
            taken.add(number)
        out.append(contact)
    return out


def next_due_at(session: Session, campaign_id: str) -> float | None:
    """When the campaign's next pending contact comes due (None: none is waiting)."""
    at = next_attempt_due(session, campaign_id)
    return None if at is None else to_epoch(at)


def refusal_summary(refused: Sequence[Verdict]) -> str:
    """``outside_hours x3 (first clears 2026-03-09T12:00:00Z), dnc x1``: refusals by their first reason."""
    groups: dict[str, list[Verdict]] = {}
    for verdict in refused:
        code = (verdict.reason or "refused").split(":", 1)[0].strip() or "refused"
        groups.setdefault(code, []).append(verdict)
    parts = []
    for code, verdicts in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        clears = [v.retry_at for v in verdicts if v.retry_at is not None]
        when = f" (first clears {_iso(min(clears))})" if clears and code != "dnc" else ""
        parts.append(f"{code} x{len(verdicts)}{when}")
    return ", ".join(parts)


def dial_note(session: Session, campaign_id: str, pacer_reason: str, placed: int, had_candidates: bool, refused: Sequence[Verdict]) -> str:
    """The campaign's status note after a tick in which the pacer wanted calls."""
    held = f"{len(refused)} due contact(s) held back: {refusal_summary(refused)}" if refused else ""
    if placed:
        return f"{pacer_reason}; {held}" if held else pacer_reason
    if held:
        return f"no call placed: {held}"
    if had_candidates:
        return "no call placed: the due contacts were claimed elsewhere or have no number"
    later = next_due_at(session, campaign_id)
    if later is None:
        return "no contact is due now, and none is waiting for a retry"
    return f"no contact is due now; the next is due at {_iso(later)}"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


__all__ = [
    "callbacks_due",
    "contacts_to_dial",
    "dial_note",
    "next_due_at",
    "refusal_summary",
    "rows_to_dial",
]
