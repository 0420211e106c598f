"""The server pool and the olive nodes, as rows every node sees (issue 15, docs/scale-out.md).

``servers`` holds each Asterisk server's limits, written from the nodes'
configuration, and its health, combined from each node's view of it
(``olive.store._server_views``); ``nodes`` holds each running olive with its heartbeat,
for people (and for the fair share of units) to read. Neither decides who
dials: the unit leases do (``olive.store._units``).

Times: a node passes its wall clock (``at``, float seconds since the epoch),
or nothing, and the database's own clock is used (PostgreSQL's
``clock_timestamp()``), so leases need no agreement between the nodes' clocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    Float,
    Integer,
    String,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from olive.store._base import Base, UTCDateTime, from_epoch, to_epoch, utcnow

SERVER_HEALTH: Final = ("unknown", "up", "down")
#: A ``down`` keeps a server's units from being taken only this long after it was written. Owners
#: write their links' health with every renewal (every TTL / 3), so a fresh ``down`` means an owner is
#: there, reconnecting; an older one was left by a node that died (nobody else talks to that server),
#: and the units must be taken again by someone who will try to connect.
DOWN_HOLDS_S: Final = 20.0


class Server(Base):
    """One Asterisk server of the pool: its limits and its health as the nodes' views combine it."""

    __tablename__ = "servers"
    __table_args__ = (
        CheckConstraint("max_channels IS NULL OR max_channels > 0", name="max_channels"),
        CheckConstraint("max_cps IS NULL OR max_cps > 0", name="max_cps"),
        CheckConstraint("health IN ('unknown', 'up', 'down')", name="health"),
    )

    name: Mapped[str] = mapped_column(String(80), primary_key=True)  # as campaigns and calls name it
    max_channels: Mapped[int | None] = mapped_column(Integer)  # calls olive may have in progress there; None: no limit
    max_cps: Mapped[float | None] = mapped_column(Float)  # Originates per second; None: no limit
    # The calls-per-second bucket (olive.store.reserve_dials): tokens left at cps_at; NULL: full.
    cps_tokens: Mapped[float | None] = mapped_column(Float)
    cps_at: Mapped[datetime | None]
    health: Mapped[str] = mapped_column(String(16), default="unknown", server_default="unknown")
    health_note: Mapped[str | None] = mapped_column(String(200))
    health_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Node(Base):
    """One running olive (``olive serve --node NAME``). ``instance`` is unique per process start."""

    __tablename__ = "nodes"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    instance: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # How many times a process registered under this name: a restart is visible.
    starts: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_channels: int | None = None
    max_cps: float | None = None


@dataclass(frozen=True, slots=True)
class NodeView:
    name: str
    instance: str
    started_at: float
    heartbeat_at: float
    expires_at: float


def clock(session: Session, at: float | None) -> ColumnElement[datetime]:
    """The time a statement runs at: ``at`` if given, else the database's clock.

    PostgreSQL's ``clock_timestamp()`` is the time the statement runs (``now()``
    would be the start of the transaction, earlier: too lenient for expiry).
    SQLite has one host, so the wall clock of this process is that clock.
    """
    if at is None and session.get_bind().dialect.name == "postgresql":
        return func.clock_timestamp(type_=UTCDateTime())
    return literal(from_epoch(utcnow().timestamp() if at is None else at), UTCDateTime())


def later(session: Session, at: float | None, seconds: float) -> ColumnElement[datetime]:
    """``clock(session, at)`` plus ``seconds``."""
    if at is None and session.get_bind().dialect.name == "postgresql":
        return func.clock_timestamp(type_=UTCDateTime()) + literal(timedelta(seconds=seconds))
    return literal(from_epoch((utcnow().timestamp() if at is None else at) + seconds), UTCDateTime())


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def register_servers(session: Session, servers: dict[str, ServerLimits]) -> None:
    """Write the configured servers and their limits (every node's configuration should agree)."""
    for name, limits in sorted(servers.items()):
        for what, value in (("max_channels", limits.max_channels), ("max_cps", limits.max_cps)):
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise ValueError(f"server {name}: {what} must be above 0, got {value!r}")
        statement = _insert(session)(Server).values(
            name=name, max_channels=limits.max_channels, max_cps=limits.max_cps, updated_at=utcnow()
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"max_channels": limits.max_channels, "max_cps": limits.max_cps, "updated_at": utcnow()},
            )
        )


def servers(session: Session) -> list[Server]:
    return list(session.scalars(select(Server).order_by(Server.name)))


def register_node(session: Session, name: str, instance: str, ttl_s: float, *, at: float | None = None) -> bool:
    """Register this process as node ``name``; False if a live process already runs under that name.

    A name is one process at a time: a unit its owner held under that name is
    safe to take back at once only because the earlier process is dead.
    """
    now, until = clock(session, at), later(session, at, ttl_s)
    taken = session.execute(
        _insert(session)(Node)
        .values(name=name, instance=instance, started_at=now, heartbeat_at=now, expires_at=until)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Node.name)
    ).first()
    if taken is not None:
        return True
    again = session.execute(
        update(Node)
        .where(Node.name == name, (Node.instance == instance) | (Node.expires_at <= now))
        .values(instance=instance, started_at=now, heartbeat_at=now, expires_at=until, starts=Node.starts + 1)
        .returning(Node.name)
    ).first()
    return again is not None


def heartbeat_node(session: Session, name: str, instance: str, ttl_s: float, *, at: float | None = None) -> bool:
    """Renew the node's registration; False if another process now runs under its name."""
    renewed = session.execute(
        update(Node)
        .where(Node.name == name, Node.instance == instance)
        .values(heartbeat_at=clock(session, at), expires_at=later(session, at, ttl_s))
        .returning(Node.name)
    ).first()
    return renewed is not None


def leave_node(session: Session, name: str, instance: str, *, at: float | None = None) -> None:
    """A clean stop: the node is no longer counted (its units are released separately)."""
    session.execute(
        update(Node).where(Node.name == name, Node.instance == instance).values(expires_at=clock(session, at))
    )


def live_nodes(session: Session, *, at: float | None = None) -> list[NodeView]:
    rows = session.scalars(select(Node).where(Node.expires_at > clock(session, at)).order_by(Node.name))
    return [
        NodeView(n.name, n.instance, to_epoch(n.started_at), to_epoch(n.heartbeat_at), to_epoch(n.expires_at))
        for n in rows
    ]


def scale_out_in_use(session: Session, *, at: float | None = None) -> str | None:
    """Why a classic ``olive serve`` (the single dialing lease) may not dial here, or None.

    Scale-out nodes are live (their registration has not expired), or a unit's lease is still
    held (a node that just died may still have Originates on their way). Units left without an
    owner by nodes that are gone do not count: nobody dials them.
    """
    from olive.store._units import Unit  # the units module imports this one

    now = clock(session, at)
    nodes = list(session.scalars(select(Node.name).where(Node.expires_at > now).order_by(Node.name)))
    held = session.scalar(
        select(func.count()).select_from(Unit).where(Unit.owner_node.is_not(None), Unit.expires_at > now)
    )
    if not nodes and not held:
        return None
    who = f"scale-out node(s) {', '.join(nodes[:5])}{' ...' if len(nodes) > 5 else ''} are live" if nodes else (
        "no scale-out node is live"
    )
    return f"{who} and {held or 0} unit lease(s) are held on this database"


__all__ = [
    "DOWN_HOLDS_S",
    "SERVER_HEALTH",
    "Node",
    "NodeView",
    "Server",
    "ServerLimits",
    "clock",
    "heartbeat_node",
    "later",
    "leave_node",
    "live_nodes",
    "register_node",
    "register_servers",
    "scale_out_in_use",
    "servers",
]
