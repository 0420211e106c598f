"""What each server-sent event's ``data`` holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class EventMessage(BaseModel):
    """One event: its ``data`` depends on ``kind``.

    - ``call``: ``call_id``, ``state``, ``previous``, ``outcome``, ``agent``,
      ``customer_wait_s``, ``talk_s``, ``hangup_cause``;
    - ``agent``: ``agent_id``, ``state`` (and ``name`` when the state came from Asterisk);
    - ``campaign``: ``campaign_id``, ``status``.
    """

    id: int = Field(description="increasing; send the last one back as Last-Event-ID to catch up")
    kind: Literal["call", "agent", "campaign"]
    at: datetime
    campaign_id: str | None
    data: dict[str, Any]


__all__ = ["EventMessage"]
