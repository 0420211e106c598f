"""A CSV import streams: committed batches, undone if one fails; bad files store nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from olive.api._contacts import rows as contact_rows
from olive.api._contacts import service
from olive.contacts_import import ImportRefused, RowChecker
from olive.store import Contact, DialList, transaction


@pytest.fixture
def list_id(session_factory: sessionmaker[Session]) -> str:
    with transaction(session_factory) as session:
        dial_list = DialList(name="stream", default_region="US")
        session.add(dial_list)
        session.flush()
        return dial_list.id


def _csv(rows: int) -> bytes:
    lines = ["phone,name,external_ref"] + [f"+1202555{i:04d},Person {i},R-{i}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _count(sessions: sessionmaker[Session], list_id: str) -> int:
    with transaction(sessions) as session:
        return int(session.scalar(select(func.count()).select_from(Contact).where(Contact.dial_list_id == list_id)) or 0)


def test_every_row_in_committed_batches(
    session_factory: sessionmaker[Session], list_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "IMPORT_BATCH", 3)
    commits: list[int] = []
    real = service._import_batch

    def spy(*args: Any) -> None:
        commits.append(len(args[2]))
        real(*args)

    monkeypatch.setattr(service, "_import_batch", spy)
    report = service.import_csv(session_factory, list_id, _csv(8))
    assert (report.imported, report.contact_count) == (8, 8)
    assert [n for n in commits if n] == [3, 3, 2]
    with transaction(session_factory) as session:
        names = sorted(c.name or "" for c in session.scalars(select(Contact).where(Contact.dial_list_id == list_id)))
    assert names == sorted(f"Person {i}" for i in range(8))


def test_a_bad_row_anywhere_stores_nothing(session_factory: sessionmaker[Session], list_id: str) -> None:
    body = _csv(10) + b"12,Too short,R-x\n" + b"+12025550001,Dup,R-1\n"
    with pytest.raises(ImportRefused) as refused:
        service.import_csv(session_factory, list_id, body)
    assert [(e.line, e.field) for e in refused.value.errors] == [(12, "phone"), (13, "external_ref")]
    assert _count(session_factory, list_id) == 0


def test_a_failing_batch_undoes_the_committed_ones(
    session_factory: sessionmaker[Session], list_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "IMPORT_BATCH", 3)
    real = service._import_batch
    calls = {"n": 0}

    def fail_third(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("database went away")
        real(*args)

    monkeypatch.setattr(service, "_import_batch", fail_third)
    with pytest.raises(RuntimeError):
        service.import_csv(session_factory, list_id, _csv(8))
    assert _count(session_factory, list_id) == 0


def test_the_undo_keeps_a_contact_already_dialed(
    session_factory: sessionmaker[Session], list_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "IMPORT_BATCH", 3)
    real = service._import_batch
    calls = {"n": 0}

    def dial_then_fail(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the engine dialed one contact of the first batch meanwhile
            with transaction(session_factory) as session:
                first = session.scalars(select(Contact).where(Contact.dial_list_id == list_id).limit(1)).one()
                first.attempts = 1
            raise RuntimeError("database went away")
        real(*args)

    monkeypatch.setattr(service, "_import_batch", dial_then_fail)
    with pytest.raises(RuntimeError):
        service.import_csv(session_factory, list_id, _csv(8))
    assert _count(session_factory, list_id) == 1


class OneByteAtATime(io.RawIOBase):
    """A body that arrives one byte per read: every row and every UTF-8 character is split."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.at >= len(self.data):
            return 0
        buffer[0] = self.data[self.at]
        self.at += 1
        return 1


def test_rows_and_characters_split_across_reads(session_factory: sessionmaker[Session], list_id: str) -> None:
    text = "\ufeffphone,name,external_ref\n+12025550100,Zoë Ærø,R-é\n+12025550101,\"Nuñez, 日本\",R-2\n"
    upload = io.BufferedReader(OneByteAtATime(text.encode("utf-8")), buffer_size=1)
    report = service.import_csv(session_factory, list_id, upload)
    assert report.imported == 2
    with transaction(session_factory) as session:
        found = {c.external_ref: c.name for c in session.scalars(select(Contact).where(Contact.dial_list_id == list_id))}
    assert found == {"R-é": "Zoë Ærø", "R-2": "Nuñez, 日本"}  # the BOM is not part of the first column's name
    assert not upload.closed  # the caller's file: the import leaves closing it to the caller


def test_a_bad_row_at_the_very_end_stores_nothing(
    session_factory: sessionmaker[Session], list_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "IMPORT_BATCH", 3)
    batches: list[int] = []
    monkeypatch.setattr(service, "_import_batch", lambda *args: batches.append(len(args[2])))
    with pytest.raises(ImportRefused) as refused:
        service.import_csv(session_factory, list_id, _csv(20) + b"+1202555,Last,R-last")  # no final newline
    assert [(e.line, e.field) for e in refused.value.errors] == [(22, "phone")]
    assert batches == []  # checked first: no batch was even tried
    assert _count(session_factory, list_id) == 0


def test_duplicate_refs_far_apart_in_different_runs(
    session_factory: sessionmaker[Session], list_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contact_rows, "RUN_SIZE", 3)  # 7 sorted runs on disk for 20 refs
    rows = [f"+1202555{i:04d},P{i},R-{i}" for i in range(17)]
    rows += ["+12025559001,Again,R-0", "+12025559002,Again,R-9", "+12025559003,Thrice,R-0"]
    body = ("phone,name,external_ref\n" + "\n".join(rows) + "\n").encode()
    with pytest.raises(ImportRefused) as refused:
        service.import_csv(session_factory, list_id, body)
    assert [(e.line, e.reason) for e in refused.value.errors] == [
        (19, "duplicate of line 2"),
        (20, "duplicate of line 11"),
        (21, "duplicate of line 2"),
    ]
    assert refused.value.bad_rows == 3
    assert _count(session_factory, list_id) == 0


def test_refs_already_in_the_list_far_apart(
    session_factory: sessionmaker[Session], list_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.import_csv(session_factory, list_id, b"phone,external_ref\n+12025559000,R-3\n+12025559001,R-1203\n")
    monkeypatch.setattr(contact_rows, "RUN_SIZE", 7)
    with pytest.raises(ImportRefused) as refused:
        service.import_csv(session_factory, list_id, _csv(1300))
    assert [(e.line, e.reason) for e in refused.value.errors] == [
        (5, "already in this dial list"),
        (1205, "already in this dial list"),
    ]
    assert _count(session_factory, list_id) == 2


def test_the_refs_never_all_in_memory(
    session_factory: sessionmaker[Session], list_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Structural: refs are held a run at a time (on disk past it), and the row checker keeps none."""
    monkeypatch.setattr(contact_rows, "RUN_SIZE", 4)
    held: list[int] = []
    checkers: list[RowChecker] = []
    real_add, real_check = contact_rows.RefSpool.add, RowChecker.check

    def add(self: contact_rows.RefSpool, *args: Any, **kwargs: Any) -> None:
        real_add(self, *args, **kwargs)
        held.append(len(self._pending))

    def check(self: RowChecker, *args: Any) -> Any:
        checkers.append(self)
        return real_check(self, *args)

    monkeypatch.setattr(contact_rows.RefSpool, "add", add)
    monkeypatch.setattr(RowChecker, "check", check)
    assert service.import_csv(session_factory, list_id, _csv(30)).imported == 30
    assert len(held) == 30 and max(held) < 4
    assert checkers and all(c.refs == {} and c.errors == [] for c in checkers)


def test_a_file_of_bad_rows_lists_the_first_problems_and_counts_them_all(
    session_factory: sessionmaker[Session], list_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contact_rows, "MAX_ERRORS", 5)
    monkeypatch.setattr(contact_rows, "RUN_SIZE", 4)
    lines = ["phone,external_ref"] + [f"12,R-{i}" for i in range(10)] + ["+12025550100,D", "+12025550101,D"]
    with pytest.raises(ImportRefused) as refused:
        service.import_csv(session_factory, list_id, ("\n".join(lines) + "\n").encode())
    assert [e.line for e in refused.value.errors] == [2, 3, 4, 5, 6]
    assert (refused.value.bad_rows, refused.value.left_out) == (11, 6)
    assert "11 bad row(s)" in str(refused.value)
