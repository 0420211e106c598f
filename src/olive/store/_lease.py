"""The dialing lease: one row per database naming the one node allowed to dial.

Two engines on one database would pace for the same agents (issue 10: the
abandon rate reached 8.3 %). The node holding the lease renews it; another
node may take it only once it has expired. Taking and renewing are one
atomic statement each (an INSERT that does nothing on conflict, then an
UPDATE conditioned on "mine or expired"), so two nodes racing for an expired
lease cannot both win, on SQLite or PostgreSQL. Times are the nodes' wall
clocks: keep them NTP-synced (the lease lasts seconds, skew is milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import String, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from olive.store._base import Base, from_epoch, to_epoch

DIALING: Final = "dialing"


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)  # what is leased: "dialing"
    node: Mapped[str] = mapped_column(String(200))  # who holds it, for people to read
    token: Mapped[str] = mapped_column(String(64))  # which process holds it (unique per start)
    acquired_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"Lease(name={self.name!r}, node={self.node!r}, expires_at={self.expires_at!r})"


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    node: str
    token: str
    acquired_at: float
    heartbeat_at: float
    expires_at: float


class LeaseRepository:
    """Reads and takes a lease; flushes, never commits (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def holder(self, name: str = DIALING) -> LeaseHolder | None:
        row = self.session.scalars(select(Lease).where(Lease.name == name)).one_or_none()
        if row is None:
            return None
        self.session.refresh(row)  # another node may have changed it since this session read it
        return LeaseHolder(
            row.node, row.token, to_epoch(row.acquired_at), to_epoch(row.heartbeat_at), to_epoch(row.expires_at)
        )

    def acquire(self, node: str, token: str, now: float, ttl_s: float, name: str = DIALING) -> LeaseHolder:
        """Take or renew the lease if it is free, expired or already ours; return its holder after."""
        at, until = from_epoch(now), from_epoch(now + ttl_s)
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        taken = self.session.execute(
            insert(Lease)
            .values(name=name, node=node, token=token, acquired_at=at, heartbeat_at=at, expires_at=until)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(Lease.name)  # no row back: someone holds it (rowcount lies here on psycopg)
        ).first()
        if taken is None:
            renewed = self.session.execute(
                update(Lease)
                .where(Lease.name == name, Lease.token == token)
                .values(node=node, heartbeat_at=at, expires_at=until)
            )
            if not renewed.rowcount:  # type: ignore[attr-defined]
                self.session.execute(
                    update(Lease)
                    .where(Lease.name == name, or_(Lease.token == token, Lease.expires_at <= at))
                    .values(node=node, token=token, acquired_at=at, heartbeat_at=at, expires_at=until)
                )
        self.session.expire_all()
        holder = self.holder(name)
        assert holder is not None
        return holder

    def release(self, token: str, name: str = DIALING) -> bool:
        """Give the lease up (a clean stop), so a successor need not wait for it to expire."""
        gone = self.session.execute(delete(Lease).where(Lease.name == name, Lease.token == token))
        return bool(gone.rowcount)  # type: ignore[attr-defined]


def live_dialing_lease(session: Session, now: float) -> LeaseHolder | None:
    """The classic node holding the dialing lease at ``now`` (wall clock), or None: a
    ``--scale-out`` node refuses to dial beside it (docs/scale-out.md)."""
    holder = LeaseRepository(session).holder()
    return holder if holder is not None and holder.expires_at > now else None


__all__ = ["DIALING", "Lease", "LeaseHolder", "LeaseRepository", "live_dialing_lease"]
