"""Callbacks as the API takes and returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from olive.api._calls.endpoints import Time
from olive.api._schemas import IdRef, PlainText, Stamped

Status = Literal["scheduled", "done", "cancelled"]


class CallbackCreate(BaseModel):
    """Call the contact back at ``due_at``: first of all once due, within calling hours."""

    model_config = ConfigDict(extra="forbid")

    contact_id: IdRef
    campaign_id: IdRef
    due_at: Time = Field(description="ISO 8601 with zone")
    agent_id: IdRef | None = Field(default=None, description="its owner, who must be ready for it; null: anyone")
    note: Annotated[PlainText, Field(max_length=2000)] | None = None


class CallbackUpdate(BaseModel):
    """Move it, or give it to another agent (``agent_id`` null: anyone). Only while scheduled."""

    model_config = ConfigDict(extra="forbid")

    due_at: Time | None = None
    agent_id: IdRef | None = None
    note: Annotated[PlainText, Field(max_length=2000)] | None = None


class CallbackOut(Stamped):
    contact_id: str
    campaign_id: str
    due_at: datetime
    agent_id: str | None
    status: Status
    note: str | None
    source_call_id: str | None = Field(description="the call it was asked for on")
    call_id: str | None = Field(description="the call that served it")


__all__ = ["CallbackCreate", "CallbackOut", "CallbackUpdate", "Status"]
