"""``olive db upgrade`` and ``olive db current`` against both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from olive.cli import app
from olive.store import current_revision, head_revision

runner = CliRunner()


def test_current_on_an_empty_database_says_so(blank_db_url: str) -> None:
    result = runner.invoke(app, ["db", "current", "--database-url", blank_db_url])
    assert result.exit_code == 1
    assert "olive db upgrade" in result.output


def test_upgrade_then_current(blank_db_url: str) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--database-url", blank_db_url])
    assert result.exit_code == 0, result.output
    assert f"to revision {head_revision()}" in result.output
    assert current_revision(blank_db_url) == head_revision()

    again = runner.invoke(app, ["db", "upgrade", "--database-url", blank_db_url])
    assert again.exit_code == 0 and "already at revision" in again.output

    shown = runner.invoke(app, ["db", "current", "--database-url", blank_db_url])
    assert shown.exit_code == 0
    assert f"revision {head_revision()} (up to date)" in shown.output


def test_database_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("OLIVE_DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert current_revision(url) == head_revision()


def test_current_does_not_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    result = runner.invoke(app, ["db", "current", "--database-url", f"sqlite:///{path}"])
    assert result.exit_code == 1
    assert not path.exists()


def test_unreachable_database_is_a_clean_error_without_the_password() -> None:
    url = "postgresql+psycopg://olive:hunter2@127.0.0.1:1/olive"
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 2
    assert "hunter2" not in result.output
    assert "cannot use" in result.output
