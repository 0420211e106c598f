"""API keys, stored as SHA-256 hashes; the plaintext is shown once, never stored.

A key is ``olive_`` followed by 43 URL-safe characters (256 random bits).
Being high-entropy, a plain SHA-256 is the right hash (no salt or slow KDF
needed). The first :data:`PREFIX_LEN` characters are kept in clear to find
the row; the hash is compared in constant time.

The table and the hash are here; the queries (create, verify, revoke) are in
_apikeys_repo.py.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from olive.store._base import Base, id_column, utcnow
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


__all__ = [
    "KEY_PREFIX",
    "PREFIX_LEN",
    "ApiKey",
    "hash_api_key",
]
