"""Do-not-call lists and checks, disposition codes and callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from olive.store._base import Base, TimestampMixin, id_column, utcnow
from olive.store._vocab import CALLBACK_STATUSES, DNC_RESULTS, one_of

GLOBAL_DNC = text("campaign_id IS NULL")


class DncNumber(TimestampMixin, Base):
    """A number not to call: for one campaign, or for all (``campaign_id`` NULL).

    ``unique(number, campaign_id)`` treats NULLs as distinct on both
    databases, so a partial unique index keeps global numbers unique too.
    """

    __tablename__ = "dnc_numbers"
    __table_args__ = (
        UniqueConstraint("number", "campaign_id"),
        Index(
            "ux_dnc_numbers_global_number",
            "number",
            unique=True,
            sqlite_where=GLOBAL_DNC,
            postgresql_where=GLOBAL_DNC,
        ),
    )

    id: Mapped[str] = id_column("dnc")
    number: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[str | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class DncCheck(Base):
    """The record that a number was checked right before an originate.

    ``call_id`` is a plain reference: a blocked check has no call, and a clear
    one is written before its call row.
    """

    __tablename__ = "dnc_checks"
    __table_args__ = (CheckConstraint(one_of("result", DNC_RESULTS), name="result"),)

    id: Mapped[str] = id_column("dncc")
    call_id: Mapped[str | None] = mapped_column(String(40), index=True)
    campaign_id: Mapped[str | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    number: Mapped[str] = mapped_column(String(32))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    result: Mapped[str] = mapped_column(String(8))
    matched_list: Mapped[str | None] = mapped_column(String(80))


class DispositionCode(TimestampMixin, Base):
    __tablename__ = "disposition_codes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    retry: Mapped[bool] = mapped_column(Boolean, default=False)
    add_to_dnc: Mapped[bool] = mapped_column(Boolean, default=False)
    callback: Mapped[bool] = mapped_column(Boolean, default=False)
    #: with ``retry``: how long before the contact is tried again (its next number)
    retry_delay_s: Mapped[int] = mapped_column(Integer, default=3600, server_default="3600")


#: A starting set: (code, label, final, retry, add_to_dnc, callback).
DEFAULT_DISPOSITION_CODES: Final = (
    ("sale", "Sale", True, False, False, False),
    ("not_interested", "Not interested", True, False, False, False),
    ("callback", "Call back", False, False, False, True),
    ("dnc", "Do not call", True, False, True, False),
    ("wrong_number", "Wrong number", False, True, False, False),
    ("no_decision", "No decision, try again", False, True, False, False),
)


class Callback(TimestampMixin, Base):
    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint(one_of("status", CALLBACK_STATUSES), name="status"),
        Index("ix_callbacks_campaign_status_due", "campaign_id", "status", "due_at"),
    )

    id: Mapped[str] = id_column("cb")
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    agent_id: Mapped[str | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    note: Mapped[str | None] = mapped_column(Text)
    source_call_id: Mapped[str | None] = mapped_column(String(40))  # the call it was asked for on
    call_id: Mapped[str | None] = mapped_column(String(40))  # the call that served it


__all__ = [
    "DEFAULT_DISPOSITION_CODES",
    "Callback",
    "DispositionCode",
    "DncCheck",
    "DncNumber",
]
