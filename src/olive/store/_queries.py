"""The queries the engine runs every tick, and the no-double-dial claim.

A contact may never have two calls in progress. Two things enforce it in the
database, so it holds across restarts and concurrent writers:

* :func:`claim_contact` is one conditional UPDATE: it sets
  ``active_call_id`` only where it is NULL, and reports whether it won.
  Concurrent claimers serialise on the row; exactly one wins.
* the partial unique index ``ux_calls_open_contact`` refuses a second call
  row with ``ended_at IS NULL`` for the same contact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from olive.ids import new_id
from olive.store._base import as_utc, utcnow
from olive.store._calls import Call
from olive.store._campaigns import Contact, ContactCount, ContactNumber, campaign_dial_lists


def claim_contact(session: Session, contact_id: str, call_id: str) -> bool:
    """Atomically make ``call_id`` the contact's one active call. True if this caller won.

    Sets ``status='dialing'``. Commit (or flush the call row in the same
    transaction) before originating; a loser must not dial.
    """
    won = session.execute(
        update(Contact)
        .where(Contact.id == contact_id, Contact.active_call_id.is_(None))
        .values(active_call_id=call_id, status="dialing", updated_at=utcnow())
        .returning(Contact.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    _expire_claim(session, contact_id)
    return won is not None


def release_contact(
    session: Session,
    contact_id: str,
    call_id: str,
    *,
    status: str = "pending",
    next_attempt_at: datetime | float | None = None,
    last_outcome: str | None = None,
) -> bool:
    """End ``call_id``'s claim on the contact. False if the contact's active call is another.

    Sets the contact's ``status`` (``pending`` to try again at
    ``next_attempt_at``; ``done``, ``exhausted`` or ``dnc`` to stop) and, when
    given, ``last_outcome``.
    """
    values: dict[str, Any] = {
        "active_call_id": None,
        "status": status,
        "next_attempt_at": None if next_attempt_at is None else as_utc(next_attempt_at),
        "updated_at": utcnow(),
    }
    if last_outcome is not None:
        values["last_outcome"] = last_outcome
    released = session.execute(
        update(Contact)
        .where(Contact.id == contact_id, Contact.active_call_id == call_id)
        .values(**values)
        .returning(Contact.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    _expire_claim(session, contact_id)
    return released is not None


_CLAIM_FIELDS = ("active_call_id", "status", "next_attempt_at", "last_outcome", "updated_at")


def _expire_claim(session: Session, contact_id: str) -> None:
    """Make a loaded copy of the contact re-read its claim: the database decided, not memory."""
    loaded = session.identity_map.get(session.identity_key(Contact, contact_id))
    if loaded is not None:
        session.expire(loaded, _CLAIM_FIELDS)


def release_stale_claims(session: Session) -> list[str]:
    """Release claims whose call is not open (ended, or never written). Run at start-up.

    Returns the ids of the contacts released back to ``pending``.
    """
    open_ids = select(Call.id).where(Call.ended_at.is_(None))
    stale = session.scalars(
        select(Contact.id).where(
            Contact.active_call_id.is_not(None), Contact.active_call_id.not_in(open_ids)
        )
    ).all()
    if stale:
        session.execute(
            update(Contact)
            .where(Contact.id.in_(stale), Contact.active_call_id.not_in(open_ids))
            .values(active_call_id=None, status="pending", updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        for contact_id in stale:
            _expire_claim(session, contact_id)
    return list(stale)


def contacts_due(
    session: Session,
    campaign_id: str,
    now: datetime | float,
    limit: int,
    *,
    with_numbers: bool = True,
    list_ids: Sequence[str] | None = None,
) -> list[Contact]:
    """Pending, unclaimed contacts of the campaign's dial lists whose retry time has come.

    ``list_ids``: the campaign's dial lists, when the caller has them (the engine
    does): one round trip less.

    Ordered by ``next_attempt_at`` (never tried first), then id. Numbers are
    loaded (in position order) unless ``with_numbers`` is False.

    Each query reads one dial list in the order of ``ix_contacts_due``
    (dial list, status, next attempt, id), so it stops after ``limit`` rows
    instead of sorting every pending contact: never-tried contacts (``IS
    NULL``, by id), then due retries (a range, by time then id). The few rows
    of several lists are merged here.
    """
    at = as_utc(now)
    if list_ids is None:
        list_ids = session.scalars(
            select(campaign_dial_lists.c.dial_list_id)
            .where(campaign_dial_lists.c.campaign_id == campaign_id)
            .order_by(campaign_dial_lists.c.dial_list_id)
        ).all()
    else:
        list_ids = sorted(list_ids)

    # By next attempt then id for both: the never-tried share one (NULL) time,
    # and PostgreSQL does not take IS NULL as fixing the column's order.
    order = (Contact.next_attempt_at, Contact.id)

    def pick(list_id: str, due: ColumnElement[bool], order: Sequence[Any], n: int) -> Sequence[Contact]:
        statement = (
            select(Contact)
            .where(
                Contact.dial_list_id == list_id,
                Contact.status == "pending",
                due,
                Contact.active_call_id.is_(None),
            )
            .order_by(*order)
            .limit(n)
        )
        if with_numbers:
            statement = statement.options(selectinload(Contact.numbers))
        return session.scalars(statement).all()

    fresh = sorted(
        (c for list_id in list_ids for c in pick(list_id, Contact.next_attempt_at.is_(None), order, limit)),
        key=lambda c: c.id,
    )[:limit]
    if len(fresh) == limit:
        return fresh
    wanted = limit - len(fresh)
    retries = sorted(
        (
            c
            for list_id in list_ids
            for c in pick(list_id, Contact.next_attempt_at <= at, order, wanted)
        ),
        key=lambda c: (as_utc(c.next_attempt_at or at), c.id),
    )[:wanted]
    return fresh + retries


def next_attempt_due(session: Session, campaign_id: str) -> datetime | None:
    """When the campaign's next pending, unclaimed contact with a retry time comes due.

    One index range per dial list (``ix_contacts_due``), its first entry only.
    """
    list_ids = session.scalars(
        select(campaign_dial_lists.c.dial_list_id).where(campaign_dial_lists.c.campaign_id == campaign_id)
    ).all()
    found = [
        at
        for list_id in list_ids
        if (
            at := session.scalar(
                select(Contact.next_attempt_at)
                .where(
                    Contact.dial_list_id == list_id,
                    Contact.status == "pending",
                    Contact.next_attempt_at.is_not(None),
                    Contact.active_call_id.is_(None),
                )
                .order_by(Contact.next_attempt_at)
                .limit(1)
            )
        )
        is not None
    ]
    return min((as_utc(at) for at in found), default=None)


#: On PostgreSQL, fold a campaign's count rows back into one per list and status past this many.
COMPACT_COUNT_ROWS = 256


def contact_status_counts(session: Session, campaign_id: str) -> dict[str, int]:
    """The campaign's contacts by status (the campaign report's figure).

    Read from ``contact_counts``, which database triggers keep in step with
    ``contacts`` (migration 0007): a few rows per dial list, whatever the
    number of contacts. On PostgreSQL, where every change appends rows, they
    are folded back into one per list and status once there are more than
    :data:`COMPACT_COUNT_ROWS`, in a short transaction of their own (so a
    caller that only reads never keeps the work, and never holds its locks).
    """
    list_ids = session.scalars(
        select(campaign_dial_lists.c.dial_list_id).where(campaign_dial_lists.c.campaign_id == campaign_id)
    ).all()
    if not list_ids:
        return {}
    rows = session.execute(
        select(ContactCount.status, func.sum(ContactCount.n), func.count())
        .where(ContactCount.dial_list_id.in_(list_ids))
        .group_by(ContactCount.status)
    ).all()
    if sum(int(kept) for _, _, kept in rows) > COMPACT_COUNT_ROWS and session.get_bind().dialect.name == "postgresql":
        compact_contact_counts(session.get_bind().engine, list_ids)
    return {status: int(n) for status, n, _ in rows if n}


def compact_contact_counts(engine: Engine, list_ids: Sequence[str]) -> None:
    """PostgreSQL: replace the lists' count rows by one per list and status, sums unchanged.

    Rows appended meanwhile by other transactions are not seen, so not
    deleted; two compactions at once wait on each other's deleted rows.
    """
    gone = (
        delete(ContactCount)
        .where(ContactCount.dial_list_id.in_(list_ids))
        .returning(ContactCount.dial_list_id, ContactCount.status, ContactCount.n)
        .cte("gone")
    )
    total = func.sum(gone.c.n)
    with engine.begin() as connection:
        connection.execute(
            insert(ContactCount).from_select(
                ["dial_list_id", "status", "n"],
                select(gone.c.dial_list_id, gone.c.status, total)
                .group_by(gone.c.dial_list_id, gone.c.status)
                .having(total != 0),
            )
        )


def open_calls(session: Session, server: str | None = None) -> list[Call]:
    """Calls not yet ended (on ``server`` if given), oldest first: what to reconcile after a restart."""
    statement = select(Call).where(Call.ended_at.is_(None))
    if server is not None:
        statement = statement.where(Call.server == server)
    return list(session.scalars(statement.order_by(Call.originated_at, Call.id)).all())


def outcome_counts(
    session: Session, campaign_id: str, *, since: datetime | float | None = None
) -> dict[str, int]:
    """Ended calls of the campaign by outcome (originated at or after ``since``, if given)."""
    statement = (
        select(Call.outcome, func.count())
        .where(Call.campaign_id == campaign_id, Call.outcome.is_not(None))
        .group_by(Call.outcome)
    )
    if since is not None:
        statement = statement.where(Call.originated_at >= as_utc(since))
    return {outcome: int(n) for outcome, n in session.execute(statement) if outcome}


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One validated contact for :func:`import_contacts`: numbers in E.164, tried in order."""

    numbers: Sequence[str]
    external_ref: str | None = None
    name: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    timezone: str | None = None


def import_contacts(
    session: Session,
    dial_list_id: str,
    rows: Iterable[ContactRow],
    *,
    now: datetime | float | None = None,
    chunk_size: int = 2000,
) -> list[str]:
    """Insert validated rows into a dial list in bulk; return the new contact ids in order.

    All or nothing within the caller's transaction: a duplicate
    ``external_ref`` raises IntegrityError and the caller rolls back.
    """
    stamp = utcnow() if now is None else as_utc(now)
    ids: list[str] = []
    contacts: list[dict[str, Any]] = []
    numbers: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if not row.numbers:
            raise ValueError(f"row {index}: a contact needs at least one number")
        contact_id = new_id("cont")
        ids.append(contact_id)
        contacts.append(
            {
                "id": contact_id,
                "dial_list_id": dial_list_id,
                "external_ref": row.external_ref,
                "name": row.name,
                "variables": dict(row.variables),
                "timezone": row.timezone,
                "status": "pending",
                "next_attempt_at": None,
                "attempts": 0,
                "next_number_index": 0,
                "active_call_id": None,
                "last_outcome": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        numbers.extend(
            {
                "id": new_id("num"),
                "contact_id": contact_id,
                "position": position,
                "number": number,
                "attempts": 0,
                "last_outcome": None,
                "last_attempt_at": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for position, number in enumerate(row.numbers)
        )
        if len(contacts) >= chunk_size:
            _flush_import(session, contacts, numbers)
    _flush_import(session, contacts, numbers)
    return ids


def _flush_import(
    session: Session, contacts: list[dict[str, Any]], numbers: list[dict[str, Any]]
) -> None:
    if contacts:
        session.execute(insert(Contact), contacts)
    if numbers:
        session.execute(insert(ContactNumber), numbers)
    contacts.clear()
    numbers.clear()


__all__ = [
    "COMPACT_COUNT_ROWS",
    "ContactRow",
    "claim_contact",
    "compact_contact_counts",
    "contact_status_counts",
    "contacts_due",
    "import_contacts",
    "next_attempt_due",
    "open_calls",
    "outcome_counts",
    "release_contact",
    "release_stale_claims",
]
