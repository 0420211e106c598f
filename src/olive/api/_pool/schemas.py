"""The server pool, the nodes and the units, as the API shows them (read only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SeenByOut(BaseModel):
    node: str
    health: str = Field(description="unknown, up or down, as this node's links last saw the server")
    note: str | None
    at: datetime = Field(description="when the node last wrote it (it does with every renewal, while it holds units there)")
    counts: bool = Field(
        description="the view is fresh (written within 20 s) and its node live, so it counts in the server's health"
    )


class ServerOut(BaseModel):
    name: str = Field(description="as campaigns and calls name it")
    max_channels: int | None = Field(description="calls olive may have in progress there; null: no limit")
    max_cps: float | None = Field(description="Originates per second; null: no limit")
    health: str = Field(
        description="unknown, up or down, combined from the nodes' views that count: up if one says up, else down "
        "if one says down (docs/scale-out.md, Server health)"
    )
    health_note: str | None = Field(description="why; names the nodes that see it down when the views disagree")
    health_at: datetime | None = Field(description="when a node last wrote its view and the health was combined")
    seen_by: list[SeenByOut] = Field(
        default_factory=list, description="each node's last view of the server, by node name"
    )


class NodeOut(BaseModel):
    name: str
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime = Field(description="counted as live until then")


class UnitOut(BaseModel):
    campaign_id: str
    server: str
    owner_node: str | None = Field(description="the node holding the unit's lease; null: nobody")
    token: int = Field(description="the fencing token: grows every time the unit changes hands")
    expires_at: datetime | None = Field(description="the lease's expiry; past: free for any node to take")


class PoolOut(BaseModel):
    """Who dials what: every server, the live nodes, every unit (a campaign on a server) and its owner."""

    servers: list[ServerOut]
    nodes: list[NodeOut]
    units: list[UnitOut]


__all__ = ["NodeOut", "PoolOut", "SeenByOut", "ServerOut", "UnitOut"]
