"""A unit's live figures, published by its lease holder for every node's API (docs/scale-out.md).

On ``--scale-out`` nodes a campaign's pacers run in the engines of its units,
each on whichever node holds the unit; the node an operator asks may hold
none of them. So each unit's engine writes its campaign's live figures (the
pacer's counters, mode, estimates, last decision, note and abandon windows)
to ``unit_live``, one row per unit, every couple of seconds, and any node's
API reads them back.

The write is fenced like every other write for a unit (:func:`fence`): a
node that lost the lease writes nothing. The figures are a JSON object the
engine builds and reads; the store only keeps them, with who wrote them
(node, token) and when, by the database's clock. Read back, each row says how
old it is and whether its writer still holds the unit, by that same clock:
the nodes' clocks need not agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKeyConstraint, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from olive.store._base import Base, JSONType, to_epoch
from olive.store._nodes import _insert, clock
from olive.store._units import Unit, UnitLease, _fenced, fence


class UnitLive(Base):
    """The last live figures the holder of a unit published."""

    __tablename__ = "unit_live"
    __table_args__ = (
        ForeignKeyConstraint(["campaign_id", "server"], ["units.campaign_id", "units.server"], ondelete="CASCADE"),
    )

    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    server: Mapped[str] = mapped_column(String(80), primary_key=True)
    node: Mapped[str] = mapped_column(String(200))  # who published them
    token: Mapped[int] = mapped_column(BigInteger)  # under which lease
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType)
    live_at: Mapped[datetime]  # by the database's clock


@dataclass(frozen=True, slots=True)
class UnitLiveView:
    """One unit's published figures as read, with their age and whether their writer still holds the unit."""

    campaign_id: str
    server: str
    node: str
    token: int
    figures: dict[str, Any]
    live_at: float
    age_s: float  # at the read, by the database's clock
    held: bool  # the writer's lease (node and token) is still the unit's, unexpired
    owner_node: str | None  # who holds the unit now (None: nobody)


def publish_unit_live(session: Session, lease: UnitLease, figures: dict[str, Any], *, at: float | None = None) -> None:
    """Write the unit's live figures under ``lease``: :class:`StaleLease` (nothing written) if it is no longer ours."""
    if not _fenced(session, lease):
        fence(session, lease, at=at)
    now = clock(session, at)
    values = {"node": lease.node, "token": lease.token, "figures": figures, "live_at": now}
    session.execute(
        _insert(session)(UnitLive)
        .values(campaign_id=lease.campaign_id, server=lease.server, **values)
        .on_conflict_do_update(index_elements=["campaign_id", "server"], set_=values)
    )


def unit_live(session: Session, campaign_ids: Sequence[str] | None = None, *, at: float | None = None) -> list[UnitLiveView]:
    """The published figures of the units of ``campaign_ids`` (None: every campaign), by campaign and server."""
    now_column = clock(session, at).label("now")
    query = (
        select(UnitLive, Unit.owner_node, Unit.token, Unit.expires_at, now_column)
        .join(Unit, (Unit.campaign_id == UnitLive.campaign_id) & (Unit.server == UnitLive.server))
        .order_by(UnitLive.campaign_id, UnitLive.server)
    )
    if campaign_ids is not None:
        query = query.where(UnitLive.campaign_id.in_(list(campaign_ids)))
    out = []
    for row, owner, token, expires_at, now in session.execute(query):
        now_s = to_epoch(now)
        live_at = to_epoch(row.live_at)
        held = (
            owner == row.node and token == row.token and expires_at is not None and to_epoch(expires_at) > now_s
        )
        out.append(
            UnitLiveView(
                row.campaign_id, row.server, row.node, row.token, dict(row.figures), live_at,
                max(0.0, now_s - live_at), held, owner,
            )
        )
    return out


__all__ = ["UnitLive", "UnitLiveView", "publish_unit_live", "unit_live"]
