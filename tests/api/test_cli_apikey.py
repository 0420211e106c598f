"""``olive apikey``: keys are printed once and stored hashed."""

from __future__ import annotations

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from typer.testing import CliRunner

from olive.cli import app
from olive.store import ApiKey, hash_api_key, make_sessionmaker, verify_api_key


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


class TestCreate:
    def test_prints_the_key_once_and_stores_its_hash(self, db_url: str, db_clean: SqlEngine) -> None:
        code, out, err = _run("apikey", "create", "--role", "viewer", "--name", "crm", "--database-url", db_url)
        assert code == 0, err
        key = out.strip()
        assert key.startswith("olive_") and "\n" not in key and key not in err
        assert "shown only now" in err
        with make_sessionmaker(db_clean)() as session:
            (row,) = session.scalars(select(ApiKey)).all()
            assert (row.name, row.role) == ("crm", "viewer")
            assert row.key_hash == hash_api_key(key) and key not in (row.key_hash, row.prefix)
            assert verify_api_key(session, key) is not None

    def test_default_name(self, db_url: str, db_clean: SqlEngine) -> None:
        code, _, _ = _run("apikey", "create", "--role", "admin", "--database-url", db_url)
        assert code == 0
        with make_sessionmaker(db_clean)() as session:
            assert session.scalars(select(ApiKey.name)).one() == "admin key"

    def test_refuses_other_roles_and_bad_names(self, db_url: str, db_clean: SqlEngine) -> None:
        assert _run("apikey", "create", "--role", "root", "--database-url", db_url)[0] == 2
        assert _run("apikey", "create", "--role", "admin", "--name", "a\nb", "--database-url", db_url)[0] == 2


class TestListAndRevoke:
    def test_list_shows_no_key_and_revoke_ends_it(self, db_url: str, db_clean: SqlEngine) -> None:
        _, key, _ = _run("apikey", "create", "--role", "admin", "--name", "ops", "--database-url", db_url)
        key = key.strip()
        code, out, _ = _run("apikey", "list", "--database-url", db_url)
        assert code == 0 and "ops" in out and key not in out
        with make_sessionmaker(db_clean)() as session:
            key_id = session.scalars(select(ApiKey.id)).one()
        assert key_id in _run("apikey", "list", "--database-url", db_url)[1]  # whole, to copy
        assert _run("apikey", "revoke", key_id, "--database-url", db_url)[0] == 0
        with make_sessionmaker(db_clean)() as session:
            assert verify_api_key(session, key) is None
        code, _, err = _run("apikey", "revoke", key_id, "--database-url", db_url)
        assert code == 1 and "no live key" in err
