"""Agents' own credentials: a password an admin issues, and the sessions it opens.

A password is stored as a salted scrypt hash (it is shown once, never
stored). Signing in with it opens a session: a random token (256 bits)
stored as a SHA-256 hash, with an expiry. Revoking the password ends every
session of the agent at once. Hashes are compared in constant time.

Each campaign may have its own list of pause reasons (``pause_reasons``);
agents pause with one of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import CursorResult, ForeignKey, Integer, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_agent_password(session: Session, agent_id: str, *, now: datetime | None = None) -> str:
    """A new password for the agent (returned once); the old one and its sessions end. The caller commits."""
    revoke_agent_password(session, agent_id, now=now)
    password = secrets.token_urlsafe(15)  # 20 characters, 120 bits
    session.add(AgentCredential(agent_id=agent_id, secret_hash=hash_password(password)))
    session.flush()
    return password


def revoke_agent_password(session: Session, agent_id: str, *, now: datetime | None = None) -> bool:
    """Revoke the agent's password and end their sessions; False if they had no live password."""
    at = now or utcnow()
    result = session.execute(
        update(AgentCredential)
        .where(AgentCredential.agent_id == agent_id, AgentCredential.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    revoked = result.rowcount if isinstance(result, CursorResult) else 0
    end_agent_sessions(session, agent_id, now=at)
    return bool(revoked)


def has_agent_password(session: Session, agent_id: str) -> bool:
    return live_credential(session, agent_id) is not None


def live_credential(session: Session, agent_id: str) -> AgentCredential | None:
    return session.scalars(
        select(AgentCredential).where(AgentCredential.agent_id == agent_id, AgentCredential.revoked_at.is_(None))
    ).first()


def open_agent_session(session: Session, agent_id: str, password: str, *, now: datetime | None = None) -> tuple[AgentSession, str] | None:
    """Check the password; on a match open a session and return it with its token (shown once)."""
    credential = live_credential(session, agent_id)
    if credential is None or not check_password(password, credential.secret_hash):
        return None
    at = now or utcnow()
    token = AGENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = AgentSession(
        agent_id=agent_id, prefix=token[:TOKEN_PREFIX_LEN], token_hash=_token_hash(token), created_at=at,
        expires_at=at + SESSION_TTL,
    )
    session.add(row)
    session.flush()
    return row, token


def verify_agent_session(session: Session, token: str, *, now: datetime | None = None) -> AgentSession | None:
    """The live (not ended, not expired) session with this token, else None."""
    if not token.startswith(AGENT_TOKEN_PREFIX) or len(token) <= TOKEN_PREFIX_LEN:
        return None
    at = now or utcnow()
    digest = _token_hash(token)
    rows = session.scalars(
        select(AgentSession).where(
            AgentSession.prefix == token[:TOKEN_PREFIX_LEN], AgentSession.ended_at.is_(None), AgentSession.expires_at > at
        )
    ).all()
    found = None
    for row in rows:
        if hmac.compare_digest(row.token_hash, digest):
            found = row
    return found


def end_agent_sessions(session: Session, agent_id: str, *, now: datetime | None = None, only: str | None = None) -> int:
    """End the agent's sessions (or only the one with id ``only``); how many were live."""
    where = [AgentSession.agent_id == agent_id, AgentSession.ended_at.is_(None)]
    if only is not None:
        where.append(AgentSession.id == only)
    result = session.execute(update(AgentSession).where(*where).values(ended_at=now or utcnow()))
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


def pause_reasons(session: Session, campaign_id: str) -> list[tuple[str, str]]:
    """The campaign's (code, label) pause reasons, in order; the defaults if it set none."""
    rows = session.scalars(
        select(PauseReason).where(PauseReason.campaign_id == campaign_id).order_by(PauseReason.position)
    ).all()
    return [(r.code, r.label) for r in rows] if rows else list(DEFAULT_PAUSE_REASONS)


def set_pause_reasons(session: Session, campaign_id: str, reasons: list[tuple[str, str]]) -> None:
    """Replace the campaign's pause reasons (an empty list: back to the defaults)."""
    for row in session.scalars(select(PauseReason).where(PauseReason.campaign_id == campaign_id)):
        session.delete(row)
    session.flush()
    for position, (code, label) in enumerate(reasons):
        session.add(PauseReason(campaign_id=campaign_id, code=code, label=label, position=position))
    session.flush()


__all__ = [
    "AGENT_TOKEN_PREFIX",
    "DEFAULT_PAUSE_REASONS",
    "SESSION_TTL",
    "AgentCredential",
    "AgentSession",
    "PauseReason",
    "check_password",
    "end_agent_sessions",
    "has_agent_password",
    "hash_password",
    "issue_agent_password",
    "live_credential",
    "open_agent_session",
    "pause_reasons",
    "revoke_agent_password",
    "set_pause_reasons",
    "verify_agent_session",
]
