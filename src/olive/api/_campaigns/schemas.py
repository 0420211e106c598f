"""Campaigns as the API takes and returns them; fields are :class:`olive.specs.CampaignSpec`'s."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from olive.api._schemas import IdRef, JsonObject, Out, Region, Stamped, partial_model
from olive.specs import CampaignSpec, ServerName

Status = Literal["stopped", "running", "paused", "finished"]


class CampaignCreate(CampaignSpec):
    """A new campaign, stopped until started. Ids refer to existing plans, dial lists and agents."""

    default_region: Region = "US"
    schedule: JsonObject = Field(default=None, description="calling hours (see the compliance guide)")
    plan_id: IdRef
    dial_list_ids: list[IdRef] = Field(default_factory=list, max_length=100)
    agent_ids: list[IdRef] = Field(default_factory=list, max_length=1000)
    servers: list[ServerName] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="the Asterisk servers the campaign dials through (olive serve --scale-out: one unit each), "
        "its `server` first; absent: `server` alone. Each server's unit paces and dials for the campaign's "
        "agents on that server (an agent's `server`; none: the campaign's `server`).",
    )


class CampaignUpdate(partial_model(CampaignCreate, "CampaignUpdateFields")):  # type: ignore[misc]
    """Fields to change. ``dial_list_ids`` and ``agent_ids`` replace the lists whole.

    A running or paused campaign may change plan, lists, agents, profile and
    schedule; its queue, server and servers only while stopped. ``servers`` without
    ``server``: ``server`` stays if it is among them, else becomes the first;
    ``server`` without ``servers``: it replaces the old first server among them.
    """


class CampaignOut(Stamped):
    name: str
    status: Status
    plan_id: str
    queue: str
    server: str
    servers: list[str] = Field(description="the servers it dials through, `server` first")
    compliance_profile: Literal["us-tsr", "uk-ofcom", "none"]
    default_region: str
    schedule: dict[str, Any] | None
    dial_list_ids: list[str]
    agent_ids: list[str]
    started_at: datetime | None
    finished_at: datetime | None
    note: str | None = Field(default=None, description="why a running campaign is not dialing, when it is not")


class StopResult(BaseModel):
    campaign: CampaignOut
    calls_hung_up: int = Field(description="calls hung up by a forced stop (0 otherwise)")


class AbandonWindow(BaseModel):
    live_answers: int
    abandoned: int
    rate: float = Field(description="abandoned / live answers (0 when there are none)")


class AgentSummary(Out):
    id: str
    name: str
    interface: str
    state: str
    pause_reason: str | None


class PacerWindow(BaseModel):
    window_s: float | None = Field(
        description="the window's length; null: since the pacer started, with the live answers it restored (31 days)"
    )
    live_answers: float = Field(description="live answers the pacer counted (with AMD's estimated people among machines)")
    abandons: float
    rate: float = Field(description="abandons / live answers (0 when there are none)")


class Pacer(BaseModel):
    mode: str | None = None
    estimates: dict[str, float | None] = Field(default_factory=dict)
    last_decision: dict[str, Any] | None = None
    abandon_windows: list[PacerWindow] = Field(
        default_factory=list, description="the abandon guard's own counts: to date, then its compliance window"
    )


class UnitFigures(BaseModel):
    """One server's live figures (olive serve --scale-out), as the node holding its unit published them."""

    server: str
    node: str = Field(description="the node that published them")
    token: int = Field(description="the fencing token of its lease then")
    owner_node: str | None = Field(description="the node holding the unit now (null: none)")
    live_at: datetime = Field(description="when they were published (the database's clock)")
    age_s: float = Field(description="how old they were when this answer was made")
    stale: bool = Field(
        description="older than a few seconds, or published under a lease no longer held: not live, "
        "and left out of the campaign's figures"
    )
    note: str | None
    outcomes: dict[str, int] = Field(description="calls ended since the unit's engine started, by outcome")
    dials: int | None
    connects: int | None
    agent_hours: float | None
    occupancy: float | None
    pacer: Pacer


class CampaignStats(BaseModel):
    """A campaign's figures. Occupancy, connects per agent-hour and the pacer's
    figures come from the engine and are null until the campaign has run in
    this process (on a --scale-out node: until a node holding one of its units
    has published live figures)."""

    campaign_id: str
    name: str
    status: Status
    calls: int
    outcomes: dict[str, int]
    contacts: dict[str, int] = Field(description="contacts by status")
    contacts_remaining: int
    abandon: dict[str, AbandonWindow] = Field(description="campaign, 24h and 30d windows")
    active_calls: int
    occupancy: float | None
    connects_per_agent_hour: float | None
    talk_min_per_agent_hour: float | None
    agent_hours: float
    dial_level: float | None = Field(
        description="lines per agent: 1 in progressive mode, the plan's level in power mode, calls in progress per working agent in predictive mode"
    )
    pacer: Pacer
    agents: list[AgentSummary]
    note: str | None
    at: datetime = Field(description="when these figures were taken")
    units: list[UnitFigures] = Field(
        default_factory=list,
        description="olive serve --scale-out: each server's figures, published by the node holding its unit; "
        "occupancy, connects, the pacer and its abandon windows above are their merge over the live ones",
    )
    live_at: datetime | None = Field(
        default=None,
        description="olive serve --scale-out: when the oldest of the live units' figures was published "
        "(null: none is live, or a classic node, whose figures are its own engine's now)",
    )


__all__ = [
    "AbandonWindow",
    "AgentSummary",
    "CampaignCreate",
    "CampaignOut",
    "CampaignStats",
    "CampaignUpdate",
    "Pacer",
    "PacerWindow",
    "StopResult",
    "UnitFigures",
]
