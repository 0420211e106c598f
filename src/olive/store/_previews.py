"""Preview mode: a contact olive has put on one agent's screen for them to dial or skip."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, selectinload

from olive.store._base import Base, TimestampMixin, id_column
from olive.store._campaigns import Contact

#: offered: on the agent's screen; then dialed, skipped (by the agent), expired (nobody acted
#: within the plan's preview_timeout_s), refused (the dial guard said no at the click) or
#: withdrawn (the agent logged out, or the campaign stopped).
PREVIEW_STATUSES: Final = ("offered", "dialed", "skipped", "expired", "refused", "withdrawn")


class Preview(TimestampMixin, Base):
    __tablename__ = "previews"
    __table_args__ = (
        CheckConstraint("status IN ('offered', 'dialed', 'skipped', 'expired', 'refused', 'withdrawn')", name="status"),
        Index("ix_previews_agent_status", "agent_id", "status"),
        Index("ix_previews_contact_status", "contact_id", "status"),
    )

    id: Mapped[str] = id_column("prev")
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    offered_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]  # offered_at + the plan's preview_timeout_s (None: never)
    status: Mapped[str] = mapped_column(String(16), default="offered")
    reason: Mapped[str | None] = mapped_column(Text)  # why skipped, refused, expired or withdrawn
    call_id: Mapped[str | None] = mapped_column(String(40))  # the call placed from it
    closed_at: Mapped[datetime | None]


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


__all__ = ["PREVIEW_STATUSES", "Preview", "offered_contact_ids", "offered_to", "open_previews", "preview_contact"]
