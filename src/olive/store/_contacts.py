"""Contacts as the dialing tick reads and writes them: plain rows, no ORM objects.

Picking the next contacts runs every dialing tick. Building ORM ``Contact``
objects with their numbers cost about 4 ms of client CPU for 50 (the
identity map, the relationship loader, a second round trip), more than the
query itself. :func:`due_rows` returns immutable :class:`DueContact` rows,
each with its numbers, in one round trip per dial list, and says for each
number whether a call to it is in flight (in any campaign), so the engine
can pass over a contact whose number is being called already.

:class:`DialContact` and :class:`DialNumber` are what the dial guard and the
Originate need of a contact; an ORM ``Contact`` has them too, so a caller
holding one (the preview verbs) passes it as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session, selectinload

from olive.store._base import as_utc, utcnow
from olive.store._calls import Call
from olive.store._campaigns import Contact, ContactNumber, campaign_dial_lists
from olive.store._compliance import Callback


class DialNumber(Protocol):
    """What dialing needs of one of a contact's numbers."""

    @property
    def id(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def position(self) -> int: ...


class DialContact(Protocol):
    """What the dial guard and the Originate need of a contact (a :class:`DueContact`, or an ORM ``Contact``)."""

    @property
    def id(self) -> str: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def next_number_index(self) -> int: ...
    @property
    def variables(self) -> Mapping[str, Any]: ...
    @property
    def numbers(self) -> Sequence[DialNumber]: ...


class DueNumber(NamedTuple):
    id: str
    number: str
    position: int
    in_flight: bool = False  # a call to this number is open (any campaign) when it was read


class DueContact(NamedTuple):
    """A pending, unclaimed contact whose time has come, as read for one tick (immutable)."""

    id: str
    dial_list_id: str
    timezone: str | None
    variables: Mapping[str, Any]
    attempts: int
    next_number_index: int
    next_attempt_at: datetime | None
    numbers: tuple[DueNumber, ...]

    @property
    def to_dial(self) -> DueNumber | None:
        """The number next in turn (None: it has none)."""
        return self.numbers[self.next_number_index % len(self.numbers)] if self.numbers else None


def _with_numbers(session: Session, heads: Sequence[Any]) -> list[DueContact]:
    """``heads``: contact rows (the columns of :func:`_columns`), in order; returns them with their
    numbers, read in one statement for all (by ``uq_contact_numbers_contact_id_position``), each
    with whether a call to it is open (``ix_calls_number``)."""
    numbers: dict[str, list[DueNumber]] = {head[0]: [] for head in heads}
    if numbers:
        in_flight = exists().where(Call.number == ContactNumber.number, Call.ended_at.is_(None))
        rows = session.execute(
            select(
                ContactNumber.contact_id,
                ContactNumber.id,
                ContactNumber.number,
                ContactNumber.position,
                in_flight,
            ).where(ContactNumber.contact_id.in_(list(numbers)))
        )
        for contact_id, number_id, number, position, busy in rows:
            numbers[contact_id].append(DueNumber(number_id, number, position, bool(busy)))
    out = []
    for cid, list_id, zone, variables, attempts, index, at in heads:
        mine = sorted(numbers[cid], key=lambda n: n.position)
        out.append(
            DueContact(cid, list_id, zone, variables or {}, attempts, index, at, tuple(mine))
        )
    return out


def _columns() -> tuple[Any, ...]:
    return (
        Contact.id,
        Contact.dial_list_id,
        Contact.timezone,
        Contact.variables,
        Contact.attempts,
        Contact.next_number_index,
        Contact.next_attempt_at,
    )


def due_rows(
    session: Session,
    campaign_id: str,
    now: datetime | float,
    limit: int,
    *,
    list_ids: Sequence[str] | None = None,
) -> list[DueContact]:
    """What :func:`~olive.store.contacts_due` picks, as plain rows: pending, unclaimed contacts of
    the campaign's lists whose retry time has come, never tried first, then by retry time and id.

    One statement per list and kind (never tried, due retries), each reading
    ``ix_contacts_due`` in its own order and stopping after ``limit`` entries,
    then one for the numbers of the contacts picked and, for each number,
    whether a call to it is open. (The numbers are not joined in: PostgreSQL
    may then hash-join a scan of every number.)
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

    def pick(list_id: str, due: ColumnElement[bool], n: int) -> Sequence[Any]:
        return session.execute(
            select(*_columns())
            .where(
                Contact.dial_list_id == list_id,
                Contact.status == "pending",
                due,
                Contact.active_call_id.is_(None),
            )
            .order_by(Contact.next_attempt_at, Contact.id)
            .limit(n)
        ).all()

    heads = sorted(
        (
            c
            for list_id in list_ids
            for c in pick(list_id, Contact.next_attempt_at.is_(None), limit)
        ),
        key=lambda c: c[0],
    )[:limit]
    if len(heads) < limit:
        wanted = limit - len(heads)
        heads += sorted(
            (
                c
                for list_id in list_ids
                for c in pick(list_id, Contact.next_attempt_at <= at, wanted)
            ),
            key=lambda c: (as_utc(c[6] or at), c[0]),
        )[:wanted]
    return _with_numbers(session, heads)


def callback_rows(
    session: Session, campaign_id: str, now: datetime | float, limit: int
) -> list[DueContact]:
    """Contacts of the campaign with a scheduled callback due by ``now`` (and themselves
    pending, unclaimed and due), earliest callback first, as plain rows."""
    order = {
        contact_id: i
        for i, contact_id in enumerate(_callback_contact_ids(session, campaign_id, now, limit))
    }
    if not order:
        return []
    heads = session.execute(select(*_columns()).where(Contact.id.in_(list(order)))).all()
    return _with_numbers(session, sorted(heads, key=lambda c: order[c[0]]))


def _callback_contact_ids(
    session: Session, campaign_id: str, now: datetime | float, limit: int
) -> list[str]:
    at = as_utc(now)
    found = (
        session.execute(
            select(Contact.id)
            .join(Callback, Callback.contact_id == Contact.id)
            .where(
                Callback.campaign_id == campaign_id,
                Callback.status == "scheduled",
                Callback.due_at <= at,
                Contact.status == "pending",
                Contact.active_call_id.is_(None),
                or_(Contact.next_attempt_at.is_(None), Contact.next_attempt_at <= at),
            )
            .order_by(Callback.due_at, Callback.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return list(dict.fromkeys(found))


def callback_contacts(
    session: Session, campaign_id: str, now: datetime | float, limit: int
) -> list[Contact]:
    """:func:`callback_rows` as ORM contacts with their numbers (for a caller that changes them)."""
    ids = _callback_contact_ids(session, campaign_id, now, limit)
    if not ids:
        return []
    found = {
        c.id: c
        for c in session.scalars(
            select(Contact).where(Contact.id.in_(ids)).options(selectinload(Contact.numbers))
        )
    }
    return [found[i] for i in ids if i in found]


def numbers_in_flight(session: Session, numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` have a call open now, in any campaign (``ix_calls_number``)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return set()
    return set(
        session.scalars(select(Call.number).where(Call.number.in_(wanted), Call.ended_at.is_(None)))
    )


class PutOff(NamedTuple):
    """A refused contact: a status for good (``dnc``), and/or a time to look at it again."""

    contact_id: str
    status: str | None = None
    next_attempt_at: datetime | None = None


def put_off_contacts(session: Session, changes: Sequence[PutOff]) -> None:
    """Apply the dial guard's refusals of one tick: one UPDATE per kind of change (executemany).

    Only a contact still pending and unclaimed changes (another writer may
    have claimed it meanwhile). Objects of these contacts already in the
    session are expired, so they read the new values.
    """
    groups: dict[tuple[bool, bool], list[PutOff]] = {}
    for change in changes:
        if change.status is None and change.next_attempt_at is None:
            continue
        groups.setdefault(
            (change.status is not None, change.next_attempt_at is not None), []
        ).append(change)
    stamp = utcnow()
    for (with_status, with_time), rows in groups.items():
        values: dict[str, Any] = {"updated_at": stamp}
        if with_status:
            values["status"] = bindparam("new_status")
        if with_time:
            values["next_attempt_at"] = bindparam("new_at", type_=Contact.next_attempt_at.type)
        session.connection().execute(
            update(Contact.__table__)  # type: ignore[arg-type]
            .where(
                Contact.__table__.c.id == bindparam("cid"),
                Contact.__table__.c.status == "pending",
                Contact.__table__.c.active_call_id.is_(None),
            )
            .values(values),
            [
                {
                    "cid": r.contact_id,
                    **({"new_status": r.status} if with_status else {}),
                    **({"new_at": r.next_attempt_at} if with_time else {}),
                }
                for r in rows
            ],
        )
    for change in changes:
        loaded = session.identity_map.get(session.identity_key(Contact, change.contact_id))
        if loaded is not None:
            session.expire(loaded, ["status", "next_attempt_at", "updated_at"])


def set_next_number(session: Session, contact_id: str, index: int) -> None:
    """Make the contact's number at ``index`` the next one dialed (an object of it in the session follows)."""
    session.execute(update(Contact).where(Contact.id == contact_id).values(next_number_index=index))


__all__ = [
    "DialContact",
    "DialNumber",
    "DueContact",
    "DueNumber",
    "PutOff",
    "callback_contacts",
    "callback_rows",
    "due_rows",
    "numbers_in_flight",
    "put_off_contacts",
    "set_next_number",
]
