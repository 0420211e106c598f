"""Do-not-call lists: numbers in E.164, read from CSV, stored global or per campaign.

Reading is pure and lenient about format, strict about meaning: a DNC entry
is kept when it is a *possible* number for its country (a list may hold a
number phonenumbers' metadata does not know yet; refusing it would let the
number be called), and refused with its line and reason otherwise.

CSV input is either a file with a header naming a ``number`` (or ``phone``)
column, plus optional ``note``; or a file with no header holding one number
per line, or ``area code,number`` pairs as the US National Do Not Call
Registry delivers them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
from sqlalchemy.orm import Session

from olive.contacts_import import RowError, csv_lines
from olive.controls import control_error
from olive.store import DncNumber, DncRepository

_NUMBER_COLUMNS = ("number", "phone", "phone_number", "e164")
_CHUNK = 1000


class DncImportRefused(ValueError):
    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{len(self.errors)} bad row(s), nothing imported: {shown}{more}")


@dataclass(frozen=True, slots=True)
class DncEntry:
    line: int
    number: str  # E.164
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DncImportReport:
    read: int  # good rows in the file
    added: int  # numbers new to the list
    already: int  # numbers the list had (or repeated in the file)
    errors: tuple[RowError, ...] = ()  # bad rows skipped (only with skip_invalid)


def normalize_dnc(raw: str, region: str = "US") -> str:
    """``raw`` as E.164; raises ValueError naming the problem. Formatting characters are ignored."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("empty number")
    if problem := control_error(text):
        raise ValueError(f"the number {problem}")
    try:
        parsed = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {text!r} ({exc._msg})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"not a possible number for its country: {text!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def parse_dnc_csv(text: str, region: str = "US", *, skip_invalid: bool = False) -> tuple[list[DncEntry], list[RowError]]:
    """Every entry of a DNC file, in order; bad rows raise :class:`DncImportRefused` unless skipped."""
    reader = csv.reader(csv_lines(text))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise DncImportRefused([RowError(reader.line_num + 1, "row", f"not readable as CSV: {exc}")]) from None
    entries: list[DncEntry] = []
    errors: list[RowError] = []
    header = [h.strip().lower() for h in rows[0]] if rows else []
    column = next((header.index(c) for c in _NUMBER_COLUMNS if c in header), None)
    note_column = header.index("note") if "note" in header else None
    body = enumerate(rows[1:], start=2) if column is not None else enumerate(rows, start=1)
    for line, row in body:
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if column is not None:
            raw = cells[column] if column < len(cells) else ""
            note = cells[note_column] or None if note_column is not None and note_column < len(cells) else None
        elif len(cells) == 2 and cells[0].isdigit() and len(cells[0]) == 3:
            raw, note = cells[0] + cells[1], None  # National DNC Registry: area code, number
        elif len(cells) == 1:
            raw, note = cells[0], None
        else:
            errors.append(RowError(line, "number", "expected one number per line, or a header with a 'number' column"))
            continue
        try:
            entries.append(DncEntry(line, normalize_dnc(raw, region), note))
        except ValueError as exc:
            errors.append(RowError(line, "number", str(exc)))
    if errors and not skip_invalid:
        raise DncImportRefused(errors)
    return entries, errors


def import_dnc(
    session: Session,
    entries: Iterable[DncEntry],
    *,
    campaign_id: str | None = None,
    source: str | None = None,
    errors: Sequence[RowError] = (),
) -> DncImportReport:
    """Add the entries to the campaign's list (or the global one); numbers already there are kept as they are."""
    pending: dict[str, DncEntry] = {}
    read = 0
    for entry in entries:
        read += 1
        pending.setdefault(entry.number, entry)
    numbers = list(pending)
    existing: set[str] = set()
    repo = DncRepository(session)
    for start in range(0, len(numbers), _CHUNK):
        existing |= repo.listed(numbers[start : start + _CHUNK], campaign_id)
    added = [
        DncNumber(number=n, campaign_id=campaign_id, source=source, note=pending[n].note)
        for n in numbers
        if n not in existing
    ]
    session.add_all(added)
    session.flush()
    return DncImportReport(read=read, added=len(added), already=read - len(added), errors=tuple(errors))


__all__ = [
    "DncEntry",
    "DncImportRefused",
    "DncImportReport",
    "import_dnc",
    "normalize_dnc",
    "parse_dnc_csv",
]
