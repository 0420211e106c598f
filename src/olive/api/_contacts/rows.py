"""Reading contact rows for the API, all or nothing, with a report of every bad row.

The rules are :mod:`olive.contacts_import`'s (shared with campaign files).
Before handing rows to it, the API checks what the database would refuse
later (text longer than its column) and time zone names against the IANA
database, so a bad row always comes back as a row error, never as a failure.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import IO, NamedTuple
from zoneinfo import available_timezones

from olive.contacts_import import ImportRefused, RowChecker, RowError, parse_csv, parse_rows
from olive.store import ContactRow

# -- external refs, sorted on disk ----------------------------------------
# External refs of an import, sorted on disk, for the duplicate checks.
#
# A 1M-row import used to keep every ref in a dict (about 125 bytes each,
# 125 MB at 1M rows: the part of the import that grew with the file). Here
# refs go to sorted runs of :data:`RUN_SIZE` on temporary files and are read
# back merged, in ref order, so memory holds one run at a time whatever the
# number of rows. Equal refs come out together, first line first: a duplicate
# within the file is a ref equal to the one before it.

RUN_SIZE = 50_000  # refs sorted in memory at once (about 8 MB)


class Ref(NamedTuple):
    ref: str
    line: int
    row_bad: bool  # the row has other errors (so a duplicate adds no bad row to the count)


class RefSpool:
    """Refs and their lines, written as they come, read back in (ref, line) order."""

    def __init__(self, run_size: int | None = None) -> None:
        self.run_size = RUN_SIZE if run_size is None else run_size
        self._pending: list[Ref] = []
        self._runs: list[IO[str]] = []

    def add(self, ref: str, line: int, row_bad: bool = False) -> None:
        self._pending.append(Ref(ref, line, row_bad))
        if len(self._pending) >= self.run_size:
            self._write_run()

    def _write_run(self) -> None:
        if not self._pending:
            return
        run = tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n")  # noqa: SIM115  # closed by close()
        self._runs.append(run)
        # JSON escapes every line break and control character: one ref, one line.
        run.writelines(json.dumps(entry, separators=(",", ":")) + "\n" for entry in sorted(self._pending))
        self._pending.clear()

    def sorted(self) -> Iterator[Ref]:
        """Every ref added, in (ref, line) order; may be read again once a reading is done."""
        self._write_run()
        return heapq.merge(*(_read(run) for run in self._runs))

    def close(self) -> None:
        for run in self._runs:
            run.close()
        self._runs.clear()
        self._pending.clear()

    def __enter__(self) -> RefSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read(run: IO[str]) -> Iterator[Ref]:
    run.seek(0)
    for text in run:
        ref, line, row_bad = json.loads(text)
        yield Ref(ref, line, row_bad)


def duplicates(refs: Iterator[Ref]) -> Iterator[tuple[Ref, int]]:
    """Each ref equal to an earlier one, with the line of the first (refs in sorted order)."""
    first: Ref | None = None
    for entry in refs:
        if first is not None and entry.ref == first.ref:
            yield entry, first.line
        else:
            first = entry


def firsts(refs: Iterator[Ref]) -> Iterator[Ref]:
    """The first of each ref (refs in sorted order)."""
    last: str | None = None
    for entry in refs:
        if entry.ref != last:
            last = entry.ref
            yield entry


# -- rows ----------------------------------------------------------------

LIMITS = {"name": 200, "external_ref": 200, "timezone": 64}
MAX_ROWS = 1_000_000
MAX_ERRORS = 1_000  # problems listed in a refusal; past it they are only counted

Pair = tuple[int, Mapping[str, object]]


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def csv_rows(text: str, region: str) -> tuple[list[ContactRow], list[int]]:
    """Rows of a CSV (header first) and the line each came from; raises ImportRefused."""
    reader = csv.DictReader(io.StringIO(text))
    pairs: list[Pair] = []
    try:
        for row in reader:
            pairs.append((reader.line_num, row))
            if len(pairs) > MAX_ROWS:
                raise ImportRefused([RowError(reader.line_num, "row", f"more than {MAX_ROWS} rows")])
    except csv.Error as exc:
        raise ImportRefused([RowError(reader.line_num, "row", f"not valid CSV: {exc}")]) from None
    errors, cleaned = _precheck(pairs)
    header = io.StringIO()
    csv.writer(header).writerow(reader.fieldnames or [])
    try:
        parse_csv(header.getvalue() if reader.fieldnames else "", region)  # the header's own checks
        rows = parse_rows(cleaned, region)
    except ImportRefused as exc:
        errors = [*errors, *exc.errors]
    if errors:
        raise ImportRefused(_sorted(errors))
    return rows, [line for line, _ in pairs]


def spool_csv(body: bytes | IO[bytes], region: str, spool: IO[str], refs: RefSpool) -> int:
    """Check a CSV body row by row and write each good row to ``spool`` (JSON lines).

    ``body`` is the raw request body (bytes, or a binary file at its start).
    The external refs go to ``refs`` with their lines (to check against the
    list afterwards). Returns the number of rows. Raises ImportRefused naming
    the bad rows (the first :data:`MAX_ERRORS` problems, and how many rows
    were bad in all), or UnicodeDecodeError. Memory stays flat in the number
    of rows: the text is decoded as it is read, no row is kept once written,
    and duplicate refs are found in ``refs``' sorted runs on disk.
    """
    source = io.BytesIO(body) if isinstance(body, bytes) else body
    # Decoding as it reads: a row or a UTF-8 character split across the body's
    # chunks is whole by the time csv sees it; "-sig" drops a BOM.
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        return _spool_text(text, region, spool, refs)
    finally:
        text.detach()  # the caller owns ``body``: do not close it with the wrapper


def _spool_text(text: IO[str], region: str, spool: IO[str], refs: RefSpool) -> int:
    reader = csv.DictReader(text)
    checker = RowChecker(region, duplicates=False)
    errors = ErrorList()
    count = 0
    try:
        for row in reader:
            count += 1
            if count > MAX_ROWS:
                raise ImportRefused([RowError(reader.line_num, "row", f"more than {MAX_ROWS} rows")])
            line = reader.line_num
            pre, ((_, cleaned),) = _precheck([(line, row)])
            contact = checker.check(line, cleaned)
            errors.add_row([*pre, *checker.errors])
            checker.errors.clear()
            if contact is not None:
                if contact.external_ref:
                    refs.add(contact.external_ref, line, row_bad=bool(pre))
                if not pre:
                    spool.write(_row_line(contact))
    except csv.Error as exc:
        raise ImportRefused([RowError(reader.line_num, "row", f"not valid CSV: {exc}")]) from None
    header = io.StringIO()
    csv.writer(header).writerow(reader.fieldnames or [])
    try:
        parse_csv(header.getvalue() if reader.fieldnames else "", region)  # the header's own checks
    except ImportRefused as exc:
        errors.add_row(exc.errors)
    for entry, first in duplicates(refs.sorted()):
        error = RowError(entry.line, "external_ref", f"duplicate of line {first}")
        if entry.row_bad:
            errors.add(error)
        else:
            errors.add_row([error])
    if errors:
        raise errors.refused()
    return count


class ErrorList:
    """Bad rows as found: the first ``limit`` problems by line are kept, the rest only counted.

    A file of a million bad rows would otherwise hold a million errors (and
    answer with them all).
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_ERRORS if limit is None else limit
        self.kept: list[RowError] = []
        self.problems = 0
        self.bad_rows = 0

    def add_row(self, row_errors: Iterable[RowError]) -> None:
        """The problems of one row not seen bad before (counted as one bad row if any)."""
        before = self.problems
        for error in row_errors:
            self.add(error)
        self.bad_rows += self.problems > before

    def add(self, error: RowError) -> None:
        """One more problem of a row already counted bad."""
        self.problems += 1
        self.kept.append(error)
        if len(self.kept) >= 2 * self.limit:  # trim now and then, not at every error
            self.kept = _sorted(self.kept)[: self.limit]

    def __bool__(self) -> bool:
        return self.problems > 0

    def refused(self) -> ImportRefused:
        kept = _sorted(self.kept)[: self.limit]
        return ImportRefused(kept, bad_rows=self.bad_rows, left_out=self.problems - len(kept))


def _row_line(row: ContactRow) -> str:
    fields = [list(row.numbers), row.external_ref, row.name, dict(row.variables), row.timezone]
    return json.dumps(fields, separators=(",", ":")) + "\n"


def spooled_rows(spool: IO[str]) -> Iterator[ContactRow]:
    """The rows :func:`spool_csv` wrote, from the start of ``spool``."""
    spool.seek(0)
    for text in spool:
        numbers, external_ref, name, variables, timezone = json.loads(text)
        yield ContactRow(
            numbers=tuple(numbers), external_ref=external_ref, name=name, variables=variables, timezone=timezone
        )


def json_rows(items: object, region: str) -> tuple[list[ContactRow], list[int]]:
    """Rows of a JSON array of objects and their 1-based positions; raises ImportRefused."""
    if not isinstance(items, list):
        raise ImportRefused([RowError(0, "body", "expected a JSON array of contact objects")])
    if len(items) > MAX_ROWS:
        raise ImportRefused([RowError(0, "body", f"more than {MAX_ROWS} rows")])
    errors: list[RowError] = []
    pairs: list[Pair] = []
    for index, item in enumerate(items):
        if isinstance(item, Mapping):
            pairs.append((index + 1, item))
        else:
            errors.append(RowError(index + 1, "row", "expected an object"))
    pre, cleaned = _precheck(pairs)
    errors.extend(pre)
    try:
        rows = parse_rows(cleaned, region)
    except ImportRefused as exc:
        errors.extend(exc.errors)
    if errors:
        raise ImportRefused(_sorted(errors))
    return rows, [line for line, _ in pairs]


def one_row(data: Mapping[str, object], region: str) -> ContactRow:
    """One contact (API create/update); raises ImportRefused naming the fields."""
    rows, _ = json_rows([dict(data)], region)
    return rows[0]


def _precheck(pairs: Iterable[Pair]) -> tuple[list[RowError], list[Pair]]:
    """Errors contacts_import does not look for, and the rows with those fields blanked."""
    errors: list[RowError] = []
    cleaned: list[Pair] = []
    for line, raw in pairs:
        fixed = dict(raw)
        for key, limit in LIMITS.items():
            value = raw.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                errors.append(RowError(line, key, "expected text"))
                fixed[key] = None
            elif len(value.strip()) > limit:
                errors.append(RowError(line, key, f"longer than {limit} characters"))
                fixed[key] = None
        tz = fixed.get("timezone")
        if isinstance(tz, str) and tz.strip() and tz.strip() not in _zones():
            errors.append(RowError(line, "timezone", f"unknown time zone {tz.strip()[:64]!r}"))
            fixed["timezone"] = None
        cleaned.append((line, fixed))
    return errors, cleaned


def _sorted(errors: list[RowError]) -> list[RowError]:
    return sorted(errors, key=lambda e: (e.line, e.field))


def decode_json(body: bytes) -> object:
    """The JSON document in ``body``; ValueError with the reason if it is not one."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8 text") from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


__all__ = [
    "LIMITS",
    "MAX_ERRORS",
    "MAX_ROWS",
    "RUN_SIZE",
    "ErrorList",
    "Ref",
    "RefSpool",
    "csv_rows",
    "decode_json",
    "duplicates",
    "firsts",
    "json_rows",
    "one_row",
    "spool_csv",
    "spooled_rows",
]
