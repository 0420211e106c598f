"""API keys, stored as SHA-256 hashes; the plaintext is shown once, never stored.

A key is ``olive_`` followed by 43 URL-safe characters (256 random bits).
Being high-entropy, a plain SHA-256 is the right hash (no salt or slow KDF
needed). The first :data:`PREFIX_LEN` characters are kept in clear to find
the row; the hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from olive.store._base import Base, as_utc, id_column, utcnow
from olive.store._vocab import API_KEY_ROLES, one_of

KEY_PREFIX: Final = "olive_"
PREFIX_LEN: Final = 14


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(one_of("role", API_KEY_ROLES), name="role"),)

    id: Mapped[str] = id_column("key")
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(PREFIX_LEN), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def __repr__(self) -> str:  # never shows the hash
        return f"ApiKey(id={self.id!r}, name={self.name!r}, role={self.role!r}, prefix={self.prefix!r})"


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_api_key(session: Session, name: str, role: str) -> tuple[ApiKey, str]:
    """Add a new key; return the row and the plaintext (to show once). The caller commits."""
    if role not in API_KEY_ROLES:
        raise ValueError(f"role must be one of {API_KEY_ROLES}, got {role!r}")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name, role=role, prefix=plaintext[:PREFIX_LEN], key_hash=hash_api_key(plaintext)
    )
    session.add(row)
    session.flush()
    return row, plaintext


def verify_api_key(
    session: Session, plaintext: str, *, now: datetime | float | None = None
) -> ApiKey | None:
    """The live (not revoked) key matching ``plaintext``, else None.

    Sets ``last_used_at`` on a match (``now``, default the current time); the
    caller's transaction commits it.
    """
    if not plaintext.startswith(KEY_PREFIX) or len(plaintext) <= PREFIX_LEN:
        return None
    digest = hash_api_key(plaintext)
    rows = session.scalars(
        select(ApiKey).where(ApiKey.prefix == plaintext[:PREFIX_LEN], ApiKey.revoked_at.is_(None))
    ).all()
    found: ApiKey | None = None
    for row in rows:
        if hmac.compare_digest(row.key_hash, digest):
            found = row
    if found is not None:
        found.last_used_at = utcnow() if now is None else as_utc(now)
    return found


def revoke_api_key(session: Session, key_id: str, *, now: datetime | float | None = None) -> bool:
    """Revoke a key by id; False if there is no such live key."""
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow() if now is None else as_utc(now)
    return True


__all__ = [
    "KEY_PREFIX",
    "PREFIX_LEN",
    "ApiKey",
    "create_api_key",
    "hash_api_key",
    "revoke_api_key",
    "verify_api_key",
]
