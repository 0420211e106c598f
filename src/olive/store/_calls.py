"""Calls: one row per attempt, the record of what happened."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from olive.store._base import Base, JSONType, TimestampMixin, id_column, utcnow
from olive.store._vocab import ABANDON_REASONS, CALL_STATES, OUTCOMES, one_of

OPEN_CALL = text("ended_at IS NULL")
# The same rows, but a query must name a server to use the index (migration 0015): the tick's
# probe by number must not walk every open call through it.
OPEN_ON_SERVER = text("ended_at IS NULL AND server IS NOT NULL")


class Call(TimestampMixin, Base):
    """One attempt. ``id`` is the ChannelId olive gives Asterisk.

    A call is open until ``ended_at`` is set; the database refuses a second
    open call for one contact (``ux_calls_open_contact``). Contact, number and
    agent references survive their rows being deleted (SET NULL): the call
    keeps its ``number`` and ``agent_interface``. A campaign with calls cannot
    be deleted.
    """

    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(one_of("state", CALL_STATES), name="state"),
        CheckConstraint(one_of("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(one_of("abandon_reason", ABANDON_REASONS), name="abandon_reason"),
        CheckConstraint("attempt >= 1", name="attempt"),
        Index("ix_calls_campaign_id_originated_at", "campaign_id", "originated_at"),
        Index(
            "ux_calls_open_contact",
            "contact_id",
            unique=True,
            sqlite_where=OPEN_CALL,
            postgresql_where=OPEN_CALL,
        ),
        Index("ix_calls_open_server", "server", sqlite_where=OPEN_ON_SERVER, postgresql_where=OPEN_ON_SERVER),
        # Which numbers have a call in flight (the dialing tick's pick; migration 0012).
        Index("ix_calls_open_number", "number", sqlite_where=OPEN_CALL, postgresql_where=OPEN_CALL),
    )

    id: Mapped[str] = id_column("call")
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    contact_number_id: Mapped[str | None] = mapped_column(
        ForeignKey("contact_numbers.id", ondelete="SET NULL")
    )
    number: Mapped[str] = mapped_column(String(32), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    server: Mapped[str] = mapped_column(String(80), default="default")
    action_id: Mapped[str | None] = mapped_column(String(80))
    uniqueid: Mapped[str | None] = mapped_column(String(80))
    linkedid: Mapped[str | None] = mapped_column(String(80))
    channel: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="originating")
    outcome: Mapped[str | None] = mapped_column(String(16), index=True)
    dial_status: Mapped[str | None] = mapped_column(String(32))
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_txt: Mapped[str | None] = mapped_column(String(200))
    originate_reason: Mapped[int | None] = mapped_column(Integer)
    originated_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]
    agent_connected_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    agent_id: Mapped[str | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    agent_interface: Mapped[str | None] = mapped_column(String(200))
    #: the agent this call was placed for (an owned callback): only they may take it
    for_agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    customer_wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    ring_s: Mapped[float | None] = mapped_column(Float)
    #: [{"interface": str, "ring_ms": int, "at": ISO 8601 str}, ...]
    agents_no_answer: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    abandon_reason: Mapped[str | None] = mapped_column(String(16))
    drop_message_played: Mapped[bool | None] = mapped_column(Boolean)
    amd_status: Mapped[str | None] = mapped_column(String(16))  # app_amd's AMDSTATUS, when the plan ran AMD
    amd_cause: Mapped[str | None] = mapped_column(String(64))  # AMDCAUSE, e.g. LONGGREETING-1500-1500
    ivr_key: Mapped[str | None] = mapped_column(String(8))  # agentless: the key Read() took (None: none)
    ivr_status: Mapped[str | None] = mapped_column(String(16))  # agentless: Read()'s READSTATUS
    plan_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    detail: Mapped[str | None] = mapped_column(Text)
    disposition: Mapped[str | None] = mapped_column(String(64))
    disposition_note: Mapped[str | None] = mapped_column(Text)
    disposition_at: Mapped[datetime | None]
    disposition_by: Mapped[str | None] = mapped_column(String(200))
    #: when the disposition took effect on the contact (once the call had ended); set once
    disposition_applied_at: Mapped[datetime | None]


__all__ = ["Call"]
