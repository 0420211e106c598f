"""Agents as the API takes and returns them; fields are :class:`olive.specs.AgentSpec`'s."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from olive.api._schemas import PlainText, Stamped, partial_model
from olive.controls import CONTROL_CLASS
from olive.specs import AgentSpec

State = Literal["logged_out", "ready", "paused", "ringing", "on_call", "wrap_up"]


class AgentCreate(AgentSpec):
    """A new agent, logged out. ``interface`` is the device Asterisk rings, e.g. ``PJSIP/101``."""

    interface: Annotated[
        str, Field(pattern=rf"^[A-Za-z0-9]+/[^\s,|{CONTROL_CLASS}]{{1,190}}$", description="e.g. PJSIP/101")
    ]


class AgentUpdate(partial_model(AgentCreate, "AgentUpdateFields")):  # type: ignore[misc]
    """Fields to change; the interface and server only while the agent is logged out."""


class AgentOut(Stamped):
    name: str
    interface: str
    server: str | None = Field(description="the Asterisk server their phone registers on; null: their campaigns' first server")
    state: State
    pause_reason: str | None
    state_since: datetime | None
    current_call_id: str | None
    campaign_ids: list[str] = Field(description="campaigns this agent works")


class PauseRequest(BaseModel):
    reason: Annotated[PlainText, Field(min_length=1, max_length=200, description="e.g. lunch, training")]


__all__ = ["AgentCreate", "AgentOut", "AgentUpdate", "PauseRequest", "State"]
