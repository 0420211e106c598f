"""Contacts and dial lists: every query of the aggregate (the repositories, the
tick's plain-row reads, the no-double-dial claim, the import).

A contact may never have two calls in progress. Two things enforce it in the
database, so it holds across restarts and concurrent writers:

* :func:`claim_contact` is one conditional UPDATE: it sets
  ``active_call_id`` only where it is NULL, and reports whether it won.
  Concurrent claimers serialise on the row; exactly one wins.
* the partial unique index ``ux_calls_open_contact`` refuses a second call
  row with ``ended_at IS NULL`` for the same contact.

Contacts as the dialing tick reads and writes them: plain rows, no ORM objects.

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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    ColumnElement,
    Engine,
    Table,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, selectinload

from olive.ids import new_id
from olive.store._base import as_utc, utcnow
from olive.store._calls import Call
from olive.store._campaigns import (
    Campaign,
    Contact,
    ContactCount,
    ContactNumber,
    DialList,
    campaign_dial_lists,
)
from olive.store._compliance import Callback
from olive.store._db import among
from olive.store._engine_writes import Fields, update_by_id
from olive.store._repository import Page, Repository, grouped_ids


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
    with whether a call to it is open, in a second one (:func:`numbers_in_flight`, each number
    probed in ``ix_calls_open_number``: as a subquery beside each number, PostgreSQL without
    fresh statistics hashed every open call instead, 58 ms a pick with 2,000 calls in flight)."""
    numbers: dict[str, list[DueNumber]] = {head[0]: [] for head in heads}
    if numbers:
        rows = session.execute(
            select(ContactNumber.contact_id, ContactNumber.id, ContactNumber.number, ContactNumber.position)
            .where(among(session, ContactNumber.contact_id, list(numbers)))
        ).all()
        called = sorted({number for _, _, number, _ in rows})
        busy = numbers_in_flight(session, called)
        for contact_id, number_id, number, position in rows:
            numbers[contact_id].append(DueNumber(number_id, number, position, number in busy))
    out = []
    for cid, list_id, zone, variables, attempts, index, at in heads:
        mine = sorted(numbers[cid], key=lambda n: n.position)
        out.append(
            DueContact(cid, list_id, zone, variables or {}, attempts, index, at, tuple(mine))
        )
    return out


# Each number probed on its own (a LATERAL with LIMIT 1 can only be a nested loop): on a new
# database's statistics (analysed empty) PostgreSQL otherwise walked every open call through
# ux_calls_open_contact and compared each with every number asked (7 ms against 0.3 ms at
# 2,100 calls open); the statement's text is the same for any count of numbers.
_OPEN_NUMBERS_PG = text(
    "SELECT v.number FROM unnest(CAST(:numbers AS VARCHAR[])) AS v(number) "
    "CROSS JOIN LATERAL (SELECT 1 FROM calls WHERE calls.number = v.number AND calls.ended_at IS NULL LIMIT 1) AS open_call"
)


def _open_numbers(session: Session, numbers: Sequence[str]) -> set[str]:
    if session.get_bind().dialect.name == "postgresql":
        return set(session.scalars(_OPEN_NUMBERS_PG, {"numbers": list(numbers)}))
    return set(session.scalars(select(Call.number).where(Call.number.in_(numbers), Call.ended_at.is_(None))))


def _list_ids(session: Session, campaign_id: str, list_ids: Iterable[str] | None) -> Sequence[str]:
    """The dial lists to read, in id order: the ones given, or all the campaign's."""
    if list_ids is None:
        return session.scalars(
            select(campaign_dial_lists.c.dial_list_id)
            .where(campaign_dial_lists.c.campaign_id == campaign_id)
            .order_by(campaign_dial_lists.c.dial_list_id)
        ).all()
    return sorted(list_ids)


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
    list_ids = _list_ids(session, campaign_id, list_ids)

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
    heads = session.execute(select(*_columns()).where(among(session, Contact.id, list(order)))).all()
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
    """Which of ``numbers`` have a call open now, in any campaign (``ix_calls_open_number``)."""
    wanted = sorted(set(numbers))
    return _open_numbers(session, wanted) if wanted else set()


class PutOff(NamedTuple):
    """A refused contact: a status for good (``dnc``), and/or a time to look at it again."""

    contact_id: str
    status: str | None = None
    next_attempt_at: datetime | None = None


def put_off_contacts(session: Session, changes: Sequence[PutOff]) -> None:
    """Apply the dial guard's refusals of one tick: one UPDATE per kind of change (on
    PostgreSQL one statement for all its rows, elsewhere an executemany: ``update_by_id``).

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
    contacts = Contact.__table__
    assert isinstance(contacts, Table)
    for (with_status, with_time), rows in groups.items():
        fields = ("status",) * with_status + ("next_attempt_at",) * with_time
        update_by_id(
            session, contacts,
            [{"id": r.contact_id, **{name: getattr(r, name) for name in fields}} for r in rows],
            _put_off_values(fields, stamp),
            also=lambda v: [contacts.c.status == "pending", contacts.c.active_call_id.is_(None)],
        )
    for change in changes:
        loaded = session.identity_map.get(session.identity_key(Contact, change.contact_id))
        if loaded is not None:
            session.expire(loaded, ["status", "next_attempt_at", "updated_at"])


def _put_off_values(fields: Sequence[str], stamp: datetime) -> Callable[[Fields], Mapping[str, Any]]:
    return lambda v: {"updated_at": stamp, **{name: v[name] for name in fields}}


def set_next_number(session: Session, contact_id: str, index: int) -> None:
    """Make the contact's number at ``index`` the next one dialed (an object of it in the session follows)."""
    session.execute(update(Contact).where(Contact.id == contact_id).values(next_number_index=index))


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
    list_ids = _list_ids(session, campaign_id, list_ids)

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


class DialListRepository(Repository[DialList]):
    model = DialList
    kind = "dial list"

    def get_by_name(self, name: str) -> DialList | None:
        return self.one_or_none(self.select().where(DialList.name == name))

    def campaigns_dialing(self, dial_list_id: str, statuses: Sequence[str]) -> list[str]:
        """The names of the campaigns in ``statuses`` that dial the list."""
        return list(self.session.scalars(
            select(Campaign.name)
            .join(campaign_dial_lists, campaign_dial_lists.c.campaign_id == Campaign.id)
            .where(campaign_dial_lists.c.dial_list_id == dial_list_id, Campaign.status.in_(statuses))
            .order_by(Campaign.name)
        ))

    def contacts_on_a_call(self, dial_list_id: str) -> int:
        statement = select(func.count()).select_from(Contact).where(
            Contact.dial_list_id == dial_list_id, Contact.active_call_id.is_not(None)
        )
        return int(self.session.scalar(statement) or 0)

    def contact_counts(self, dial_list_ids: Sequence[str]) -> dict[str, int]:
        """Each list's number of contacts (lists without any are left out)."""
        if not dial_list_ids:
            return {}
        rows = self.session.execute(
            select(Contact.dial_list_id, func.count())
            .where(Contact.dial_list_id.in_(dial_list_ids))
            .group_by(Contact.dial_list_id)
        )
        return {list_id: int(n) for list_id, n in rows}

    def campaign_ids(self, dial_list_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each list's campaigns' ids, in id order."""
        return grouped_ids(self.session, campaign_dial_lists.c.dial_list_id, campaign_dial_lists.c.campaign_id, dial_list_ids)

    def contact_count(self, dial_list_id: str) -> int:
        statement = (
            select(func.count()).select_from(Contact).where(Contact.dial_list_id == dial_list_id)
        )
        return int(self.session.scalar(statement) or 0)


class ContactRepository(Repository[Contact]):
    model = Contact
    kind = "contact"

    def numbers(self, contact_id: str) -> list[ContactNumber]:
        """The contact's numbers, in the order they are tried."""
        statement = select(ContactNumber).where(ContactNumber.contact_id == contact_id).order_by(ContactNumber.position)
        return list(self.session.scalars(statement))

    def first_numbers(self, contact_ids: Iterable[str]) -> dict[str, str]:
        """Each contact's first number (by position), for those that have one."""
        ids = sorted(set(contact_ids))
        first: dict[str, str] = {}
        if ids:
            rows = self.session.execute(
                select(ContactNumber.contact_id, ContactNumber.number)
                .where(ContactNumber.contact_id.in_(ids))
                .order_by(ContactNumber.contact_id, ContactNumber.position)
            )
            for contact_id, number in rows:
                first.setdefault(contact_id, number)
        return first

    def ids_for(self, *, external_ref: str | None = None, number: str | None = None) -> list[str]:
        """The ids of the contacts with that external ref, or with that number (E.164)."""
        if external_ref is not None:
            return list(self.session.scalars(select(Contact.id).where(Contact.external_ref == external_ref).order_by(Contact.id)))
        statement = select(ContactNumber.contact_id).where(ContactNumber.number == number).distinct()
        return list(self.session.scalars(statement))

    def load(self, id: str) -> Contact | None:
        """The contact with its numbers, read afresh (not from the session's identity map)."""
        statement = self.select().where(Contact.id == id).options(selectinload(Contact.numbers))
        return self.session.scalars(statement.execution_options(populate_existing=True)).one_or_none()

    def search(
        self,
        dial_list_id: str,
        *,
        status: str | None,
        external_ref: str | None,
        number: str | None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Contact]:
        """A page of a dial list's contacts, by status, external ref and one of their numbers (E.164)."""
        where: list[ColumnElement[bool]] = []
        if number is not None:
            where.append(Contact.id.in_(select(ContactNumber.contact_id).where(ContactNumber.number == number)))
        return self.list_by(
            {"dial_list_id": dial_list_id, "status": status, "external_ref": external_ref},
            *where, order_by=("created_at",), limit=limit, offset=offset, options=(selectinload(Contact.numbers),),
        )

    def replace_numbers(self, contact: Contact, numbers: Iterable[str]) -> None:
        """The contact's numbers become ``numbers``, in order; dialing starts again at the first."""
        self.session.execute(delete(ContactNumber).where(ContactNumber.contact_id == contact.id))
        self.session.add_all(ContactNumber(contact_id=contact.id, position=i, number=n) for i, n in enumerate(numbers))
        contact.next_number_index = 0

    def refs_taken(self, dial_list_id: str, refs: Sequence[str]) -> list[str]:
        """Which of ``refs`` (external refs) the list already has."""
        statement = select(Contact.external_ref).where(
            Contact.dial_list_id == dial_list_id, Contact.external_ref.in_(refs)
        )
        return [ref for ref in self.session.scalars(statement) if ref]

    def undo_import(self, dial_list_id: str, first_id: str, last_id: str, created_at: datetime) -> int:
        """Delete the contacts one import wrote (ids in ``[first_id, last_id]``, stamped
        ``created_at``), except those already dialed; returns how many were kept."""
        mine = (
            Contact.dial_list_id == dial_list_id,
            Contact.id.between(first_id, last_id),
            Contact.created_at == created_at,
        )
        self.session.execute(
            delete(Contact)
            .where(*mine, Contact.active_call_id.is_(None), Contact.attempts == 0)
            .execution_options(synchronize_session=False)
        )
        return int(self.session.scalar(select(func.count()).select_from(Contact).where(*mine)) or 0)

    def get_by_external_ref(self, dial_list_id: str, external_ref: str) -> Contact | None:
        return self.one_or_none(
            self.select().where(
                Contact.dial_list_id == dial_list_id, Contact.external_ref == external_ref
            )
        )

    def import_rows(
        self, dial_list_id: str, rows: Iterable[ContactRow], *, now: datetime | float | None = None
    ) -> list[str]:
        return import_contacts(self.session, dial_list_id, rows, now=now)


__all__ = [
    "COMPACT_COUNT_ROWS",
    "ContactRepository",
    "ContactRow",
    "DialContact",
    "DialListRepository",
    "DialNumber",
    "DueContact",
    "DueNumber",
    "PutOff",
    "callback_contacts",
    "callback_rows",
    "claim_contact",
    "compact_contact_counts",
    "contact_status_counts",
    "contacts_due",
    "due_rows",
    "import_contacts",
    "next_attempt_due",
    "numbers_in_flight",
    "put_off_contacts",
    "release_contact",
    "release_stale_claims",
    "set_next_number",
]
