"""Agents and their sessions: every query of the aggregate (the agents'
repository, passwords an admin issues, the sessions they open, pause reasons).
The tables are in _campaigns.py (Agent) and _agent_auth.py."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    select,
    update,
)
from sqlalchemy.orm import Session

from olive.store._agent_auth import (
    AGENT_TOKEN_PREFIX,
    DEFAULT_PAUSE_REASONS,
    SESSION_TTL,
    TOKEN_PREFIX_LEN,
    AgentCredential,
    AgentSession,
    PauseReason,
    check_password,
    hash_password,
)
from olive.store._base import utcnow
from olive.store._campaigns import (
    Agent,
    campaign_agents,
)
from olive.store._repository import Page, Repository, grouped_ids


class AgentRepository(Repository[Agent]):
    model = Agent
    kind = "agent"

    def get_by_name(self, name: str) -> Agent | None:
        return self.one_or_none(self.select().where(Agent.name == name))

    def get_by_interface(self, interface: str) -> Agent | None:
        return self.one_or_none(self.select().where(Agent.interface == interface))

    def search(
        self, *, state: str | None, name: str | None, campaign_id: str | None, limit: int = 50, offset: int = 0
    ) -> Page[Agent]:
        """Agents by state and name, and (``campaign_id``) those of one campaign."""
        where: list[ColumnElement[bool]] = []
        if campaign_id is not None:
            members = select(campaign_agents.c.agent_id).where(campaign_agents.c.campaign_id == campaign_id)
            where.append(Agent.id.in_(members))
        return self.list_by({"state": state, "name": name}, *where, order_by=("name",), limit=limit, offset=offset)

    def campaign_ids(self, agent_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each agent's campaigns' ids, in id order."""
        return grouped_ids(self.session, campaign_agents.c.agent_id, campaign_agents.c.campaign_id, agent_ids)

    def names(self, agent_ids: Iterable[str]) -> dict[str, str]:
        """Agent id -> name, for those of ``agent_ids`` that exist."""
        ids = sorted(set(agent_ids))
        if not ids:
            return {}
        return {
            id: name
            for id, name in self.session.execute(
                select(Agent.id, Agent.name).where(Agent.id.in_(ids))
            )
        }

    def states_by_name(self) -> dict[str, str]:
        """Every agent's state, by name."""
        return {
            name: state for name, state in self.session.execute(select(Agent.name, Agent.state))
        }

    def for_campaign(self, campaign_id: str) -> list[Agent]:
        statement = (
            self.select()
            .join(campaign_agents, campaign_agents.c.agent_id == Agent.id)
            .where(campaign_agents.c.campaign_id == campaign_id)
            .order_by(Agent.name)
        )
        return self.all(statement)


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
    "AgentRepository",
    "end_agent_sessions",
    "has_agent_password",
    "issue_agent_password",
    "live_credential",
    "open_agent_session",
    "pause_reasons",
    "revoke_agent_password",
    "set_pause_reasons",
    "verify_agent_session",
]
