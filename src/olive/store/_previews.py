"""Preview mode: a contact olive has put on one agent's screen for them to dial or skip.
The table; its queries are in _previews_repo.py."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from olive.store._base import Base, TimestampMixin, id_column

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


__all__ = [
    "PREVIEW_STATUSES",
    "Preview",
]
