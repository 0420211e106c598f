"""Agents' own credentials: a password an admin issues, and the sessions it opens.

A password is stored as a salted scrypt hash (it is shown once, never
stored). Signing in with it opens a session: a random token (256 bits)
stored as a SHA-256 hash, with an expiry. Revoking the password ends every
session of the agent at once. Hashes are compared in constant time.

Each campaign may have its own list of pause reasons (``pause_reasons``);
agents pause with one of them.

The tables and the password hash are here; the queries (issuing, signing
in, ending sessions, pause reasons) are in _agents_repo.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from olive.store._base import Base, id_column, utcnow

#: An agent's session token starts with this; API keys never do.
AGENT_TOKEN_PREFIX: Final = "olive_agent_"
TOKEN_PREFIX_LEN: Final = 20
#: A session lasts a working day, then the agent signs in again.
SESSION_TTL: Final = timedelta(hours=12)
# scrypt: 16 MiB of memory and ~50 ms per guess.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
#: Pause reasons a campaign without its own list offers.
DEFAULT_PAUSE_REASONS: Final = (
    ("break", "Break"),
    ("lunch", "Lunch"),
    ("training", "Training"),
    ("meeting", "Meeting"),
    ("technical", "Technical problem"),
)


class AgentCredential(Base):
    __tablename__ = "agent_credentials"

    id: Mapped[str] = id_column("acred")
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    def __repr__(self) -> str:  # never shows the hash
        return f"AgentCredential(id={self.id!r}, agent_id={self.agent_id!r})"


class AgentSession(Base):
    __tablename__ = "agent_sessions"

    id: Mapped[str] = id_column("asess")
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(TOKEN_PREFIX_LEN), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"AgentSession(id={self.id!r}, agent_id={self.agent_id!r})"


class PauseReason(Base):
    __tablename__ = "pause_reasons"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[str] = id_column("pr")
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), for :func:`check_password`."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(got, expected)


__all__ = [
    "AGENT_TOKEN_PREFIX",
    "DEFAULT_PAUSE_REASONS",
    "SESSION_TTL",
    "AgentCredential",
    "AgentSession",
    "PauseReason",
    "check_password",
    "hash_password",
]
