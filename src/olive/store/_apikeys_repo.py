"""API keys: every query of the aggregate (issue, verify, revoke, list).
The table and the hash are in _apikeys.py."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from olive.store._apikeys import (
    KEY_PREFIX,
    PREFIX_LEN,
    ApiKey,
    hash_api_key,
)
from olive.store._base import as_utc, utcnow
from olive.store._repository import Repository
from olive.store._vocab import API_KEY_ROLES


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey
    kind = "API key"


    def every(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        return self.all(self.select().order_by(ApiKey.created_at, ApiKey.id))

    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        return create_api_key(self.session, name, role)


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
    "ApiKeyRepository",
    "create_api_key",
    "revoke_api_key",
    "verify_api_key",
]
