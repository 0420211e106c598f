"""Engines, URLs, sessions and transactions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from olive.store import (
    DialList,
    database_url,
    make_engine,
    safe_url,
    transaction,
)


class TestDatabaseUrl:
    def test_explicit_wins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OLIVE_DATABASE_URL", "postgresql+psycopg://env/db")
        assert database_url("sqlite:///x.db") == "sqlite:///x.db"

    def test_environment_next(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OLIVE_DATABASE_URL", "postgresql+psycopg://env/db")
        assert database_url() == "postgresql+psycopg://env/db"

    def test_sqlite_file_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("OLIVE_DATABASE_URL", raising=False)
        assert database_url() == "sqlite:///olive.db"

    def test_empty_environment_is_ignored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OLIVE_DATABASE_URL", "")
        assert database_url() == "sqlite:///olive.db"


class TestSafeUrl:
    def test_hides_the_password(self) -> None:
        shown = safe_url("postgresql+psycopg://olive:s3cret@db:5432/olive")
        assert "s3cret" not in shown
        assert "olive@db:5432/olive" in shown.replace(":***", "")


class TestMakeEngine:
    def test_sqlite_pragmas(self, tmp_path: object) -> None:
        engine = make_engine(f"sqlite:///{tmp_path}/p.db", busy_timeout_ms=1234)
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        finally:
            engine.dispose()

    def test_engine_for_each_backend_connects(self, db_engine: Engine, db_backend: str) -> None:
        with db_engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert db_engine.dialect.name == db_backend
        if db_backend == "postgresql":
            assert db_engine.pool._pre_ping


class TestTransaction:
    def test_commits_on_success(self, session_factory: sessionmaker[Session]) -> None:
        with transaction(session_factory) as session:
            session.add(DialList(name="kept"))
        with session_factory() as other:
            assert other.scalars(select(DialList.name)).all() == ["kept"]

    def test_rolls_back_on_error(self, session_factory: sessionmaker[Session]) -> None:
        with pytest.raises(RuntimeError), transaction(session_factory) as session:
            session.add(DialList(name="lost"))
            session.flush()
            raise RuntimeError("boom")
        with session_factory() as other:
            assert other.scalars(select(DialList.name)).all() == []

    def test_objects_stay_readable_after_commit(
        self, session_factory: sessionmaker[Session]
    ) -> None:
        with transaction(session_factory) as session:
            dial_list = DialList(name="readable")
            session.add(dial_list)
        assert dial_list.name == "readable"
        assert dial_list.id.startswith("list_")


class TestSavepoints:
    """``begin_nested`` works on both databases (SQLite needs help from make_engine)."""

    def test_inner_rollback_keeps_outer_work(self, session: Session) -> None:
        session.add(DialList(name="outer"))
        session.flush()
        with pytest.raises(RuntimeError), session.begin_nested():
            session.add(DialList(name="inner"))
            session.flush()
            raise RuntimeError("undo inner")
        session.commit()
        assert session.scalars(select(DialList.name)).all() == ["outer"]

    def test_savepoint_first_then_outer_rollback_undoes_all(
        self, session_factory: sessionmaker[Session]
    ) -> None:
        with session_factory() as session:
            with session.begin_nested():  # the first statement of the transaction
                session.add(DialList(name="nested"))
            session.rollback()
        with session_factory() as other:
            assert other.scalars(select(DialList.name)).all() == []
