"""Previews: every query of the aggregate (what is on which agent's screen).
The table is in _previews.py."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from olive.store._campaigns import Contact
from olive.store._previews import Preview


def open_previews(session: Session) -> list[Preview]:
    """Every preview still on an agent's screen."""
    return list(session.scalars(select(Preview).where(Preview.status == "offered")))


def offered_to(session: Session, agent_id: str) -> Preview | None:
    """The preview on this agent's screen, if any."""
    return session.scalars(select(Preview).where(Preview.agent_id == agent_id, Preview.status == "offered")).first()


def offered_contact_ids(session: Session) -> set[str]:
    """The contacts on some agent's screen (not to be offered twice)."""
    return set(session.scalars(select(Preview.contact_id).where(Preview.status == "offered")))


def preview_contact(session: Session, contact_id: str) -> Contact | None:
    """A previewed contact with its numbers, read again at the agent's click."""
    statement = select(Contact).where(Contact.id == contact_id).options(selectinload(Contact.numbers))
    return session.scalars(statement).first()


__all__ = [
    "offered_contact_ids",
    "offered_to",
    "open_previews",
    "preview_contact",
]
