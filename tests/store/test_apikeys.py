"""API keys: stored hashed, verified in constant time, never stored in clear."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from olive.store import ApiKey, ApiKeyRepository, create_api_key, revoke_api_key, verify_api_key


class TestCreate:
    def test_returns_a_fresh_high_entropy_key(self, session: Session) -> None:
        row, plaintext = create_api_key(session, "ops", "admin")
        _, other = create_api_key(session, "ops", "admin")
        assert plaintext != other
        assert plaintext.startswith("olive_") and len(plaintext) >= 40
        assert row.id.startswith("key_")
        assert row.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert plaintext.startswith(row.prefix)

    def test_plaintext_is_never_stored(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        _, plaintext = create_api_key(session, "ops", "viewer")
        session.commit()
        secret_part = plaintext[len("olive_") :]
        with session_factory() as other:
            rows = other.execute(text("SELECT * FROM api_keys")).all()
        assert len(rows) == 1
        for value in rows[0]:
            assert secret_part not in str(value)
        assert plaintext not in repr(rows[0])

    def test_role_is_checked(self, session: Session) -> None:
        with pytest.raises(ValueError, match="role"):
            create_api_key(session, "ops", "root")

    def test_repr_shows_no_hash(self, session: Session) -> None:
        row, _ = create_api_key(session, "ops", "admin")
        assert row.key_hash not in repr(row)


class TestVerify:
    def test_right_key_is_found_and_touched(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        row, plaintext = create_api_key(session, "ops", "viewer")
        session.commit()
        when = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        with session_factory() as other:
            found = verify_api_key(other, plaintext, now=when)
            assert found is not None and (found.id, found.role) == (row.id, "viewer")
            other.commit()
        with session_factory() as check:
            assert check.scalar(select(ApiKey.last_used_at)) == when

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),
            lambda k: k + "x",
            lambda k: "",
            lambda k: k[:14],
            lambda k: "x" + k,
        ],
    )
    def test_wrong_keys_are_refused(self, session: Session, mangle: object) -> None:
        _, plaintext = create_api_key(session, "ops", "admin")
        assert callable(mangle)
        assert verify_api_key(session, mangle(plaintext)) is None

    def test_same_prefix_different_key_is_refused(self, session: Session) -> None:
        row, plaintext = create_api_key(session, "ops", "admin")
        impostor = row.prefix + "Z" * (len(plaintext) - len(row.prefix))
        assert verify_api_key(session, impostor) is None

    def test_revoked_key_is_refused(self, session: Session) -> None:
        row, plaintext = create_api_key(session, "ops", "admin")
        assert revoke_api_key(session, row.id) is True
        assert revoke_api_key(session, row.id) is False
        assert revoke_api_key(session, "key_missing") is False
        assert verify_api_key(session, plaintext) is None

    def test_repository_wraps_the_same_functions(self, session: Session) -> None:
        repo = ApiKeyRepository(session)
        row, plaintext = repo.create("ci", "viewer")
        assert verify_api_key(session, plaintext) is row
        assert [k.id for k in repo.every()] == [row.id]
