"""The shipped migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from olive.store import Base, current_revision, downgrade, head_revision, make_engine, migrate


def _diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _names(engine: Engine) -> dict[str, set[str]]:
    """Every constraint and index name, by kind, as the database reports them."""
    found: dict[str, set[str]] = {"ck": set(), "uq": set(), "fk": set(), "pk": set(), "ix": set()}
    with engine.connect() as conn:
        insp = inspect(conn)
        for table in insp.get_table_names():
            if table == "alembic_version":
                continue
            found["ck"] |= {c["name"] for c in insp.get_check_constraints(table) if c["name"]}
            found["uq"] |= {c["name"] for c in insp.get_unique_constraints(table) if c["name"]}
            found["fk"] |= {c["name"] for c in insp.get_foreign_keys(table) if c["name"]}
            pk = insp.get_pk_constraint(table)["name"]
            if pk:
                found["pk"].add(pk)
            found["ix"] |= {
                i["name"]
                for i in insp.get_indexes(table)
                if i["name"] and not i.get("duplicates_constraint")  # PostgreSQL's uq indexes
            }
    return found


def _model_names() -> dict[str, set[str]]:
    from sqlalchemy import (
        CheckConstraint,
        ForeignKeyConstraint,
        PrimaryKeyConstraint,
        UniqueConstraint,
    )

    kinds = {
        CheckConstraint: "ck",
        UniqueConstraint: "uq",
        ForeignKeyConstraint: "fk",
        PrimaryKeyConstraint: "pk",
    }
    found: dict[str, set[str]] = {k: set() for k in ("ck", "uq", "fk", "pk", "ix")}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            kind = kinds[type(constraint)]
            assert isinstance(constraint.name, str)
            found[kind].add(str(constraint.name))
        found["ix"] |= {str(i.name) for i in table.indexes}
    return found


class TestMigrate:
    def test_upgrade_reaches_head(self, blank_db_url: str) -> None:
        assert current_revision(blank_db_url) is None
        migrate(blank_db_url)
        assert current_revision(blank_db_url) == head_revision()

    def test_migrated_schema_matches_the_models(self, blank_db_url: str, db_backend: str) -> None:
        engine = make_engine(blank_db_url)
        try:
            migrate(engine)
            assert _diff(engine) == []
            actual, expected = _names(engine), _model_names()
            # SQLite does not name primary keys or report unique constraints that
            # back a primary key; PostgreSQL names them all.
            if db_backend == "sqlite":
                del actual["pk"], expected["pk"]
            for kind in expected:
                assert (kind, actual[kind] - expected[kind]) == (kind, set())
                assert (kind, expected[kind] - actual[kind]) == (kind, set())
        finally:
            engine.dispose()

    def test_partial_indexes_keep_their_where_clause(
        self, blank_db_url: str, db_backend: str
    ) -> None:
        engine = make_engine(blank_db_url)
        try:
            migrate(engine)
            with engine.connect() as conn:
                indexes = {i["name"]: i for i in inspect(conn).get_indexes("calls")}
            open_contact = indexes["ux_calls_open_contact"]
            assert open_contact["unique"]
            where = open_contact.get("dialect_options", {}).get(f"{db_backend}_where")
            assert where is not None
            assert "ended_at IS NULL" in str(where)
        finally:
            engine.dispose()

    def test_upgrade_twice_is_a_no_op(self, blank_db_url: str) -> None:
        migrate(blank_db_url)
        migrate(blank_db_url)
        assert current_revision(blank_db_url) == head_revision()

    def test_down_to_base_and_up_again(self, blank_db_url: str) -> None:
        engine = make_engine(blank_db_url)
        try:
            migrate(engine)
            downgrade(engine, "base")
            with engine.connect() as conn:
                assert inspect(conn).get_table_names() == ["alembic_version"]
            assert current_revision(engine) is None
            migrate(engine)
            assert current_revision(engine) == head_revision()
            assert _diff(engine) == []
        finally:
            engine.dispose()


class TestMetadata:
    def test_every_constraint_follows_the_naming_convention(self) -> None:
        prefixes = {"ck": "ck_", "uq": "uq_", "fk": "fk_", "pk": "pk_"}
        for kind, names in _model_names().items():
            for name in names:
                if kind == "ix":
                    assert name.startswith(("ix_", "ux_")), name
                else:
                    assert name.startswith(prefixes[kind]), name
                assert len(name) <= 63, name  # PostgreSQL truncates longer identifiers
