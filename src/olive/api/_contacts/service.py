"""Contacts of a dial list: one by one, and bulk imports (all or nothing).

Services flush but never commit; the request owns the transaction.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Iterable, Sequence
from typing import IO, Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session, sessionmaker

from olive.api._contacts import rows as contact_rows
from olive.api._contacts.rows import RefSpool, firsts
from olive.api._contacts.schemas import ImportReport
from olive.api._deps import Paging
from olive.api._schemas import get_or_404, well_formed_id
from olive.contacts_import import ImportRefused, RowError
from olive.errors import Conflict, Invalid
from olive.phone import InvalidNumber, normalize
from olive.store import (
    Contact,
    ContactRepository,
    ContactRow,
    DialList,
    DialListRepository,
    NotFound,
    Page,
    import_contacts,
    transaction,
    utcnow,
)

log = logging.getLogger(__name__)
IMPORT_BATCH = 5000  # rows per committed batch of a CSV import

def dial_list(session: Session, dial_list_id: str) -> DialList:
    return get_or_404(DialListRepository(session), dial_list_id)


def get(session: Session, dial_list_id: str, contact_id: str) -> Contact:
    dial_list(session, dial_list_id)
    contact = _load(session, contact_id) if well_formed_id(contact_id) else None
    if contact is None or contact.dial_list_id != dial_list_id:
        raise NotFound("contact", contact_id)
    return contact


def list_contacts(
    session: Session,
    dial_list_id: str,
    paging: Paging,
    *,
    status: str | None,
    external_ref: str | None,
    number: str | None,
) -> Page[Contact]:
    found = dial_list(session, dial_list_id)
    e164 = None
    if number is not None:
        try:
            e164 = normalize(number, found.number_region)
        except InvalidNumber as exc:
            raise Invalid(str(exc), field="number") from None
    return ContactRepository(session).search(
        found.id, status=status, external_ref=external_ref, number=e164, limit=paging.limit, offset=paging.offset
    )


def create(session: Session, dial_list_id: str, data: dict[str, Any]) -> Contact:
    found = dial_list(session, dial_list_id)
    row = _one(data, found.number_region)
    if row.external_ref is not None:
        _unique_ref(session, found.id, row.external_ref)
    (contact_id,) = import_contacts(session, found.id, [row])
    contact = _load(session, contact_id)
    assert contact is not None
    return contact


def update(session: Session, dial_list_id: str, contact_id: str, changes: dict[str, Any]) -> Contact:
    contact = get(session, dial_list_id, contact_id)
    found = dial_list(session, dial_list_id)
    status = changes.pop("status", None)
    if contact.active_call_id is not None and (status is not None or "phones" in changes):
        raise Conflict("the contact is on a call; change its numbers or status when it ends", field="status")
    current: dict[str, Any] = {
        "phones": [n.number for n in contact.numbers],
        "name": contact.name,
        "external_ref": contact.external_ref,
        "timezone": contact.timezone,
        "variables": dict(contact.variables or {}),
    }
    row = _one({**current, **changes}, found.number_region)
    if row.external_ref is not None and row.external_ref != contact.external_ref:
        _unique_ref(session, found.id, row.external_ref)
    contact.name, contact.external_ref, contact.timezone = row.name, row.external_ref, row.timezone
    contact.variables = dict(row.variables)
    if list(row.numbers) != current["phones"]:
        ContactRepository(session).replace_numbers(contact, row.numbers)
    if status is not None:
        contact.status = status
        if status == "pending":
            contact.next_attempt_at = None
    session.flush()
    reloaded = _load(session, contact.id)
    assert reloaded is not None
    return reloaded


def delete_contact(session: Session, dial_list_id: str, contact_id: str) -> None:
    contact = get(session, dial_list_id, contact_id)
    if contact.active_call_id is not None:
        raise Conflict("the contact is on a call; delete it when the call ends", field="status")
    ContactRepository(session).delete(contact)


def import_rows(session: Session, dial_list_id: str, media_type: str, body: bytes) -> ImportReport:
    """Import a CSV or JSON body into the list: every row, or none (422 lists every bad row)."""
    found = dial_list(session, dial_list_id)
    if media_type == "application/json":
        try:
            document = contact_rows.decode_json(body)
        except ValueError as exc:
            raise RequestValidationError([{"loc": ("body",), "msg": str(exc), "type": "value_error"}]) from None
        if not isinstance(document, list):
            raise RequestValidationError(
                [{"loc": ("body",), "msg": "expected a JSON array of contact objects", "type": "list_type"}]
            )
        rows, lines = contact_rows.json_rows(document, found.number_region)
    else:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RequestValidationError(
                [{"loc": ("body",), "msg": "the body is not UTF-8 text", "type": "value_error"}]
            ) from None
        rows, lines = contact_rows.csv_rows(text, found.number_region)
    _refs_not_taken(session, found.id, rows, lines)
    import_contacts(session, found.id, rows)
    total = DialListRepository(session).contact_count(found.id)
    return ImportReport(dial_list_id=found.id, imported=len(rows), contact_count=total)


def import_csv(sessions: sessionmaker[Session], dial_list_id: str, body: bytes | IO[bytes]) -> ImportReport:
    """Import a CSV body (bytes, or a binary file at its start) into the list, streaming:
    every row, or none.

    Every row is checked first, in one pass that keeps the good rows and the
    external refs on disk (refs in sorted runs, for the duplicate checks), so
    memory does not grow with the file. Then the rows go in by batches of
    :data:`IMPORT_BATCH`, each committed, so a long import never holds
    SQLite's write lock for long and the engine's writes interleave. Should a
    batch still fail (the database went away, a concurrent request took an
    external ref), the batches already in are deleted again, except contacts
    the engine already started dialing.
    """
    with transaction(sessions) as session:
        region = dial_list(session, dial_list_id).number_region
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool, RefSpool() as refs:
        try:
            count = contact_rows.spool_csv(body, region, spool, refs)
        except UnicodeDecodeError:
            raise RequestValidationError(
                [{"loc": ("body",), "msg": "the body is not UTF-8 text", "type": "value_error"}]
            ) from None
        with transaction(sessions) as session:
            _refs_free(session, dial_list_id, ((r.ref, r.line) for r in firsts(refs.sorted())))
        refs.close()
        stamp = utcnow()
        span: list[str] = []  # the first and last id written: ULIDs grow with time
        batch: list[ContactRow] = []
        try:
            for row in contact_rows.spooled_rows(spool):
                batch.append(row)
                if len(batch) >= IMPORT_BATCH:
                    _import_batch(sessions, dial_list_id, batch, stamp, span)
            _import_batch(sessions, dial_list_id, batch, stamp, span)
        except Exception:
            _undo_import(sessions, dial_list_id, stamp, span)
            raise
    with transaction(sessions) as session:
        total = DialListRepository(session).contact_count(dial_list_id)
    return ImportReport(dial_list_id=dial_list_id, imported=count, contact_count=total)


def _import_batch(
    sessions: sessionmaker[Session], dial_list_id: str, batch: list[ContactRow], stamp: Any, span: list[str]
) -> None:
    if not batch:
        return
    with transaction(sessions) as session:
        ids = import_contacts(session, dial_list_id, batch, now=stamp)
    span[:] = [min([*span[:1], *ids]), max([*span[1:], *ids])]
    batch.clear()


def _undo_import(sessions: sessionmaker[Session], dial_list_id: str, stamp: Any, span: list[str]) -> None:
    """Delete what a failed import committed, but never a contact already dialed."""
    if not span:
        return
    try:
        with transaction(sessions) as session:
            kept = ContactRepository(session).undo_import(dial_list_id, span[0], span[1], stamp)
        if kept:
            log.warning("import into %s failed; %d contact(s) already dialed were kept", dial_list_id, kept)
    except Exception:
        log.exception("import into %s failed and its rows could not all be removed", dial_list_id)


def _refs_free(session: Session, dial_list_id: str, refs: Iterable[tuple[str, int]]) -> None:
    """Refuse the import if any of ``refs`` (distinct refs, each with its line) is already in the list."""
    errors = contact_rows.ErrorList()
    pairs = iter(refs)
    while lines := dict(itertools.islice(pairs, 500)):
        for ref in ContactRepository(session).refs_taken(dial_list_id, list(lines)):
            errors.add_row([RowError(lines[ref], "external_ref", "already in this dial list")])
    if errors:
        raise errors.refused()


def _one(data: dict[str, Any], region: str) -> ContactRow:
    try:
        return contact_rows.one_row(data, region)
    except ImportRefused as exc:
        raise RequestValidationError(
            [{"loc": ("body", *_loc(e.field)), "msg": e.reason, "type": "value_error"} for e in exc.errors]
        ) from None


def _loc(field: str) -> tuple[str | int, ...]:
    if field.startswith("phones[") and field.endswith("]") and field[7:-1].isdigit():
        return ("phones", int(field[7:-1]))
    return (field,)


def _load(session: Session, contact_id: str) -> Contact | None:
    return ContactRepository(session).load(contact_id)


def _unique_ref(session: Session, dial_list_id: str, external_ref: str) -> None:
    if ContactRepository(session).get_by_external_ref(dial_list_id, external_ref) is not None:
        raise Conflict(f"a contact with external_ref {external_ref!r} is already in this list", field="external_ref")


def _refs_not_taken(session: Session, dial_list_id: str, rows: Sequence[ContactRow], lines: Sequence[int]) -> None:
    first = {row.external_ref: line for row, line in zip(rows, lines, strict=True) if row.external_ref}
    _refs_free(session, dial_list_id, first.items())


__all__ = ["create", "delete_contact", "dial_list", "get", "import_csv", "import_rows", "list_contacts", "update"]
