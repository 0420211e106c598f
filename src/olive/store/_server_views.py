"""Each node's view of each server, and the pool's health combined from them (issue 15).

On ``--scale-out`` nodes every node holding units on a server writes, with
every renewal, what its links see of that server. Two nodes can disagree (a
partition: node A cannot reach pbx-a, node B can), so each node's view is a
row of its own in ``server_views``, and ``servers.health`` is derived from
the views that count, in the same transaction (docs/scale-out.md, "Server
health"):

* a view counts while it is fresh (written within :data:`DOWN_HOLDS_S`, by the
  database's clock) and its node is live (registration not expired);
* ``up`` if any view that counts says up: some node dials there, so the
  server's units must stay takeable (``acquire_units`` refuses a fresh ``down``);
* otherwise ``down`` if one says down;
* otherwise (no view counts) the writer's own view stands.

A node that no longer holds units on a server withdraws its view
(:func:`forget_server_view`), so a view counts only while its node is there.

The note says who sees what when they disagree: ``up (node-a sees it down:
AMI connection lost; reconnecting)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    String,
    and_,
    delete,
    exists,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from olive.store._base import Base, to_epoch
from olive.store._nodes import DOWN_HOLDS_S, SERVER_HEALTH, Node, Server, _insert, clock, later

#: A view not written for this long is deleted when its server's views are next written: its node
#: is long gone or no longer holds units there (a live node holding units rewrites it every renewal).
VIEW_KEPT_S: Final = 3600.0
NOTE_MAX: Final = 200  # servers.health_note and server_views.note are String(200)


class ServerView(Base):
    """What one node last saw of one server (written by that node with every renewal)."""

    __tablename__ = "server_views"
    __table_args__ = (CheckConstraint("health IN ('unknown', 'up', 'down')", name="health"),)

    server: Mapped[str] = mapped_column(ForeignKey("servers.name", ondelete="CASCADE"), primary_key=True)
    node: Mapped[str] = mapped_column(String(200), primary_key=True)  # a node's name, as in nodes.name
    health: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]  # by the database's clock


@dataclass(frozen=True, slots=True)
class SeenBy:
    """One node's view of one server, as read, and whether it counts in the server's health."""

    server: str
    node: str
    health: str
    note: str | None
    at: float
    counts: bool  # fresh (within DOWN_HOLDS_S) and its node live


def _clip(note: str | None) -> str | None:
    return note if note is None or len(note) <= NOTE_MAX else note[: NOTE_MAX - 1] + "…"


def _counts(session: Session, at: float | None) -> ColumnElement[bool]:
    """The view is fresh (written within :data:`DOWN_HOLDS_S`) and its node live."""
    return and_(
        ServerView.at > later(session, at, -DOWN_HOLDS_S),
        exists().where(Node.name == ServerView.node, Node.expires_at > clock(session, at)),
    )


def combine(views: Sequence[tuple[str, str, str | None]], writer: str | None = None) -> tuple[str, str | None] | None:
    """The server's health and note from the ``(node, health, note)`` views that count, by node name
    (``writer``'s note first among those that see it up); None if none says up or down."""
    ups = [v for v in views if v[1] == "up"]
    downs = [v for v in views if v[1] == "down"]
    if ups:
        own = next((v for v in ups if v[0] == writer), ups[0])
        if not downs:
            return "up", _clip(own[2])
        dissent = " · ".join(f"{node} sees it down: {note}" if note else f"{node} sees it down" for node, _, note in downs)
        return "up", _clip(f"{own[2] or 'up'} ({dissent})")
    if downs:
        notes = {note for _, _, note in downs}
        if len(notes) == 1:
            return "down", _clip(notes.pop())
        return "down", _clip(" · ".join(f"{node}: {note or 'down'}" for node, _, note in downs))
    return None


def _lock_server(session: Session, name: str) -> bool:
    """Lock the server's row, False if there is none. The lock orders two nodes writing views of one
    server: the second reads the first's view once it is committed, so no combination misses one."""
    return session.scalar(select(Server.name).where(Server.name == name).with_for_update()) is not None


def _combine_views(
    session: Session, name: str, at: float | None, writer: str | None, fallback: tuple[str, str | None] | None
) -> None:
    """Write the server's health combined from its views that count (``fallback`` if none says up or
    down; None: leave it as it is), and delete its views not written for :data:`VIEW_KEPT_S`."""
    forgotten = ServerView.at <= later(session, at, -VIEW_KEPT_S)
    rows = session.execute(
        select(ServerView.node, ServerView.health, ServerView.note, _counts(session, at), forgotten)
        .where(ServerView.server == name)
        .order_by(ServerView.node)
    ).all()
    combined = combine([(node, health, note) for node, health, note, counted, _ in rows if counted], writer) or fallback
    if combined is not None:
        session.execute(
            update(Server)
            .where(Server.name == name)
            .values(health=combined[0], health_note=combined[1], health_at=clock(session, at))
        )
    if any(old for *_, old in rows):
        session.execute(delete(ServerView).where(ServerView.server == name, forgotten))


def record_server_view(
    session: Session, name: str, node: str, health: str, note: str | None = None, *, at: float | None = None
) -> None:
    """Record what ``node`` sees of server ``name`` (``up``: logged in and reconciled; ``down``:
    unreachable), then write the server's combined health to ``servers.health`` (module docstring)."""
    if health not in SERVER_HEALTH:
        raise ValueError(f"server health is one of {', '.join(SERVER_HEALTH)}, not {health!r}")
    if not _lock_server(session, name):
        raise LookupError(f"no server {name!r} in the pool")
    note = _clip(note)
    values = {"health": health, "note": note, "at": clock(session, at)}
    session.execute(
        _insert(session)(ServerView)
        .values(server=name, node=node, **values)
        .on_conflict_do_update(index_elements=["server", "node"], set_=values)
    )
    _combine_views(session, name, at, node, (health, note))


def forget_server_view(session: Session, name: str, node: str, *, at: float | None = None) -> None:
    """``node`` holds no unit on server ``name`` any more: its view goes (it would count for up to
    :data:`DOWN_HOLDS_S` while nobody renews it), and the server's health is combined again from the
    views left (left as it is if none counts)."""
    if _lock_server(session, name):
        session.execute(delete(ServerView).where(ServerView.server == name, ServerView.node == node))
        _combine_views(session, name, at, None, None)


def server_views(session: Session, *, at: float | None = None) -> list[SeenBy]:
    """Every node's view of every server, by server and node, each saying whether it counts now."""
    counts = _counts(session, at)
    rows = session.execute(
        select(ServerView.server, ServerView.node, ServerView.health, ServerView.note, ServerView.at, counts)
        .order_by(ServerView.server, ServerView.node)
    ).all()
    return [SeenBy(server, node, health, note, to_epoch(seen_at), bool(counted)) for server, node, health, note, seen_at, counted in rows]


__all__ = ["VIEW_KEPT_S", "SeenBy", "ServerView", "combine", "forget_server_view", "record_server_view", "server_views"]
