"""External refs of an import, sorted on disk, for the duplicate checks.

A 1M-row import used to keep every ref in a dict (about 125 bytes each,
125 MB at 1M rows: the part of the import that grew with the file). Here
refs go to sorted runs of :data:`RUN_SIZE` on temporary files and are read
back merged, in ref order, so memory holds one run at a time whatever the
number of rows. Equal refs come out together, first line first: a duplicate
within the file is a ref equal to the one before it.
"""

from __future__ import annotations

import heapq
import json
import tempfile
from collections.abc import Iterator
from typing import IO, NamedTuple

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


__all__ = ["RUN_SIZE", "Ref", "RefSpool", "duplicates", "firsts"]
