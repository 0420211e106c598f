"""Reads the pool from the store; writes nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from olive.api._pool.schemas import NodeOut, PoolOut, SeenByOut, ServerOut, UnitOut
from olive.store import from_epoch, live_nodes, server_views, servers, units


def pool(session: Session) -> PoolOut:
    seen_by: dict[str, list[SeenByOut]] = {}
    for view in server_views(session):
        seen_by.setdefault(view.server, []).append(
            SeenByOut(node=view.node, health=view.health, note=view.note, at=from_epoch(view.at), counts=view.counts)
        )
    return PoolOut(
        servers=[
            ServerOut(
                name=s.name, max_channels=s.max_channels, max_cps=s.max_cps,
                health=s.health, health_note=s.health_note, health_at=s.health_at, seen_by=seen_by.get(s.name, []),
            )
            for s in servers(session)
        ],
        nodes=[
            NodeOut(
                name=n.name, started_at=from_epoch(n.started_at), heartbeat_at=from_epoch(n.heartbeat_at),
                expires_at=from_epoch(n.expires_at),
            )
            for n in live_nodes(session)
        ],
        units=[
            UnitOut(
                campaign_id=u.campaign_id, server=u.server, owner_node=u.owner_node, token=u.token,
                expires_at=None if u.expires_at is None else from_epoch(u.expires_at),
            )
            for u in units(session)
        ],
    )


__all__ = ["pool"]
