"""Campaigns, dial lists, contacts with their numbers, and agents."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from olive.store._base import Base, JSONType, TimestampMixin, id_column
from olive.store._vocab import (
    AGENT_STATES,
    CAMPAIGN_STATUSES,
    COMPLIANCE_PROFILES,
    CONTACT_STATUSES,
    one_of,
)

if TYPE_CHECKING:
    from olive.store._plans import Plan

campaign_dial_lists = Table(
    "campaign_dial_lists",
    Base.metadata,
    Column(
        "campaign_id",
        String(40),
        ForeignKey("campaigns.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "dial_list_id",
        String(40),
        ForeignKey("dial_lists.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

campaign_agents = Table(
    "campaign_agents",
    Base.metadata,
    Column(
        "campaign_id",
        String(40),
        ForeignKey("campaigns.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "agent_id",
        String(40),
        ForeignKey("agents.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Campaign(TimestampMixin, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(one_of("status", CAMPAIGN_STATUSES), name="status"),
        CheckConstraint(
            one_of("compliance_profile", COMPLIANCE_PROFILES), name="compliance_profile"
        ),
    )

    id: Mapped[str] = id_column("camp")
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="stopped")
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"), index=True)
    queue: Mapped[str] = mapped_column(String(80))
    server: Mapped[str] = mapped_column(String(80), default="default")
    compliance_profile: Mapped[str] = mapped_column(String(16), default="us-tsr")
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    plan: Mapped[Plan] = relationship(lazy="raise")
    dial_lists: Mapped[list[DialList]] = relationship(
        secondary=campaign_dial_lists, lazy="raise", passive_deletes=True
    )
    agents: Mapped[list[Agent]] = relationship(
        secondary=campaign_agents, lazy="raise", passive_deletes=True
    )


class DialList(TimestampMixin, Base):
    __tablename__ = "dial_lists"

    id: Mapped[str] = id_column("list")
    name: Mapped[str] = mapped_column(String(200), unique=True)
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    # "e164": numbers are checked and normalised for their country; "private": a
    # private numbering plan (lab or internal extensions), digits only, unchecked.
    numbering: Mapped[str] = mapped_column(String(8), default="e164", server_default="e164")

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="dial_list", lazy="raise", passive_deletes=True
    )

    @property
    def number_region(self) -> str:
        """What its numbers are read with: the region, or the private plan."""
        from olive.phone import PRIVATE

        return PRIVATE if self.numbering == "private" else self.default_region


class Contact(TimestampMixin, Base):
    """A person to reach. ``active_call_id`` names the one call in progress.

    It is not a foreign key on purpose: the engine claims the contact (see
    ``claim_contact``) before the call row exists. The partial unique index on
    ``calls(contact_id) WHERE ended_at IS NULL`` backs it up.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(one_of("status", CONTACT_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("next_number_index >= 0", name="next_number_index"),
        UniqueConstraint("dial_list_id", "external_ref"),
        # In the order contacts_due reads them, so picking the next few reads
        # only those few index entries, however many contacts are pending.
        Index("ix_contacts_due", "dial_list_id", "status", "next_attempt_at", "id"),
    )

    id: Mapped[str] = id_column("cont")
    dial_list_id: Mapped[str] = mapped_column(ForeignKey("dial_lists.id", ondelete="CASCADE"))
    external_ref: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    variables: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    next_attempt_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_number_index: Mapped[int] = mapped_column(Integer, default=0)
    active_call_id: Mapped[str | None] = mapped_column(String(40))
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    # Which unit's lease (server, fencing token) made the last claim (olive.store._units).
    claim_server: Mapped[str | None] = mapped_column(String(80))
    claim_token: Mapped[int | None] = mapped_column(BigInteger)

    dial_list: Mapped[DialList] = relationship(back_populates="contacts", lazy="raise")
    numbers: Mapped[list[ContactNumber]] = relationship(
        back_populates="contact",
        lazy="raise",
        order_by="ContactNumber.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ContactCount(Base):
    """How many contacts a dial list has in one status: kept by database triggers.

    Triggers on ``contacts`` (migration 0007) change these rows in the same
    transaction as every insert, delete and status change, so no code path
    can forget them. On SQLite there is one row per list and status; on
    PostgreSQL each statement appends its net change (rows that never
    conflict between concurrent writers), and the counts are the sums.
    Read them with :func:`olive.store.contact_status_counts`.
    """

    __tablename__ = "contact_counts"
    __table_args__ = (Index("ix_contact_counts_list", "dial_list_id", "status", "n"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    dial_list_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(BigInteger)


class ContactNumber(TimestampMixin, Base):
    __tablename__ = "contact_numbers"
    __table_args__ = (
        UniqueConstraint("contact_id", "position"),
        CheckConstraint("position >= 0", name="position"),
        CheckConstraint("attempts >= 0", name="attempts"),
    )

    id: Mapped[str] = id_column("num")
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(32), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_attempt_at: Mapped[datetime | None]

    contact: Mapped[Contact] = relationship(back_populates="numbers", lazy="raise")


class Agent(TimestampMixin, Base):
    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(one_of("state", AGENT_STATES), name="state"),)

    id: Mapped[str] = id_column("agent")
    name: Mapped[str] = mapped_column(String(200), unique=True)
    interface: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="logged_out")
    pause_reason: Mapped[str | None] = mapped_column(String(200))
    state_since: Mapped[datetime | None]
    current_call_id: Mapped[str | None] = mapped_column(String(40))
    #: the Asterisk server their phone registers on; None: their campaign's first server
    #: (``campaigns.server``). A campaign's unit on a server paces and queues only its agents there.
    server: Mapped[str | None] = mapped_column(String(80))

    campaigns: Mapped[list[Campaign]] = relationship(
        secondary=campaign_agents, lazy="raise", viewonly=True
    )


__all__ = [
    "Agent",
    "Campaign",
    "Contact",
    "ContactNumber",
    "DialList",
    "campaign_agents",
    "campaign_dial_lists",
]
