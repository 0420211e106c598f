"""Reading contacts from CSV or JSON rows, all-or-nothing.

Every row is checked before anything is stored: numbers are normalised to
E.164, time zones must exist, variable names must be usable as Asterisk
channel variables and no value may hold a line break (it would end up in an
AMI message). If any row is bad, the import is refused as a whole and the
report names the line, the field and the reason for every bad row. The same
rule holds for ``olive run`` files and for the REST API.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from olive.controls import control_error
from olive.phone import InvalidNumber, normalize
from olive.store import ContactRow

MAX_NUMBERS = 10
_VARIABLE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")
_PHONE_COLUMNS = re.compile(r"phone(\d*)\Z", re.IGNORECASE)
_KNOWN = {"name", "timezone", "external_ref", "phones"}


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # CSV line (the header is line 1) or JSON item index + 1
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, field {self.field!r}: {self.reason}"


class ImportRefused(ValueError):
    """The import is refused: ``errors`` names each bad row, or the first of them when
    ``left_out`` more were not kept (a huge file of bad rows must not fill memory)."""

    def __init__(self, errors: list[RowError], *, bad_rows: int | None = None, left_out: int = 0) -> None:
        self.errors = errors
        self.bad_rows = len({e.line for e in errors}) if bad_rows is None else bad_rows
        self.left_out = left_out
        shown = "; ".join(str(e) for e in errors[:5])
        more = len(errors) + left_out - 5
        tail = f" (and {more} more)" if more > 0 else ""
        super().__init__(f"{self.bad_rows} bad row(s), nothing imported: {shown}{tail}")


class RowChecker:
    """Checks rows one at a time, remembering external refs to report duplicates.

    The streaming CSV import turns the duplicate check off and does it on disk
    (:class:`olive.api._contacts.rows.RefSpool`), so it never holds the file's refs.
    """

    def __init__(self, default_region: str, *, duplicates: bool = True) -> None:
        self.region = default_region
        self.errors: list[RowError] = []
        # external_ref -> first line; off for a caller that checks duplicates itself (on disk)
        self.duplicates = duplicates
        self.refs: dict[str, int] = {}

    def check(self, line: int, raw: Mapping[str, object]) -> ContactRow | None:
        """The row as a contact, or None (its errors are added to :attr:`errors`)."""
        row_errors: list[RowError] = []
        contact = _parse_row(line, raw, self.region, row_errors)
        if self.duplicates and contact is not None and contact.external_ref and not row_errors:
            first = self.refs.setdefault(contact.external_ref, line)
            if first != line:
                row_errors.append(RowError(line, "external_ref", f"duplicate of line {first}"))
        if row_errors:
            self.errors.extend(row_errors)
            return None
        return contact


def parse_rows(rows: Iterable[tuple[int, Mapping[str, object]]], default_region: str) -> list[ContactRow]:
    """Validate ``(line, row)`` pairs; raise :class:`ImportRefused` listing every bad row."""
    checker = RowChecker(default_region)
    good = [contact for line, raw in rows if (contact := checker.check(line, raw)) is not None]
    if checker.errors:
        raise ImportRefused(checker.errors)
    return good


def parse_csv(text: str, default_region: str) -> list[ContactRow]:
    reader = csv.DictReader(csv_lines(text))
    try:
        if not reader.fieldnames:
            raise ImportRefused([RowError(1, "header", "the CSV has no header row")])
        if not any(_PHONE_COLUMNS.match(f or "") or (f or "").lower() == "phones" for f in reader.fieldnames):
            raise ImportRefused([RowError(1, "header", "no phone column (phone, phone1.., or phones)")])
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise ImportRefused([RowError(reader.line_num + 1, "row", f"not readable as CSV: {exc}")]) from None
    return parse_rows(rows, default_region)


def csv_lines(text: str) -> io.StringIO:
    """``text`` as csv wants it: lines end at CR, LF or CRLF (old Mac and Excel exports end
    them with a bare CR), and a quoted field keeps its line breaks as they are."""
    return io.StringIO(text, newline="")


def parse_json(items: list[Mapping[str, object]], default_region: str) -> list[ContactRow]:
    return parse_rows(((i + 1, item) for i, item in enumerate(items)), default_region)


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _parse_row(line: int, raw: Mapping[str, object], region: str, errors: list[RowError]) -> ContactRow | None:
    if None in raw:  # csv puts extra cells under the key None
        errors.append(RowError(line, "row", "more cells than header columns"))
        return None
    numbers: list[tuple[int, str, str]] = []  # (order, field, raw)
    variables: dict[str, str] = {}
    for key, value in raw.items():
        name = _text(key).strip()
        if (m := _PHONE_COLUMNS.match(name)) is not None:
            if _text(value).strip():
                numbers.append((int(m.group(1) or 0), name, _text(value)))
        elif name.lower() == "phones":
            parts = value if isinstance(value, list) else re.split(r"[;|]", _text(value))
            numbers.extend((i, f"phones[{i}]", _text(p)) for i, p in enumerate(parts) if _text(p).strip())
        elif name.lower() == "variables" and isinstance(value, Mapping):
            for k, v in value.items():
                _variable(line, f"variables.{k}", _text(k), _text(v), variables, errors)
        elif name.lower() not in _KNOWN and name:
            _variable(line, name, name, _text(value), variables, errors)
    if not numbers:
        errors.append(RowError(line, "phone", "no phone number"))
    if len(numbers) > MAX_NUMBERS:
        errors.append(RowError(line, "phone", f"more than {MAX_NUMBERS} numbers"))
    e164: list[str] = []
    for _, name, value in sorted(numbers):
        try:
            number = normalize(value, region)
        except InvalidNumber as exc:
            errors.append(RowError(line, name, str(exc)))
            continue
        if number not in e164:
            e164.append(number)
    tz = _text(raw.get("timezone")).strip() or None
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
            errors.append(RowError(line, "timezone", f"unknown time zone {tz!r}"))
    fields = {k: _text(raw.get(k)).strip() or None for k in ("name", "external_ref")}
    for key in fields:
        if problem := control_error(_text(raw.get(key))):  # before strip(): a trailing TAB is refused too
            errors.append(RowError(line, key, problem))
    return ContactRow(
        numbers=tuple(e164), external_ref=fields["external_ref"], name=fields["name"],
        variables=variables, timezone=tz,
    )


def _variable(line: int, field_name: str, name: str, value: str, out: dict[str, str], errors: list[RowError]) -> None:
    if not _VARIABLE.match(name):
        errors.append(RowError(line, field_name, "variable names are letters, digits and _ (max 64), starting with a letter"))
    elif problem := control_error(value):
        errors.append(RowError(line, field_name, problem))
    elif value != "":
        out[name] = value


__all__ = [
    "ContactRow",
    "ImportRefused",
    "RowChecker",
    "RowError",
    "csv_lines",
    "parse_csv",
    "parse_json",
    "parse_rows",
]
