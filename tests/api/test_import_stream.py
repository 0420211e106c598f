"""A CSV import streams: committed batches, undone if one fails; bad files store nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from olive.api._contacts import service
from olive.contacts_import import ImportRefused
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
