"""Every model, imported together so ``Base.metadata`` is complete."""

from __future__ import annotations

from olive.store._agent_auth import AgentCredential, AgentSession, PauseReason
from olive.store._apikeys import ApiKey
from olive.store._base import Base
from olive.store._calls import Call
from olive.store._campaigns import (
    Agent,
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    campaign_agents,
    campaign_dial_lists,
)
from olive.store._compliance import Callback, DispositionCode, DncCheck, DncNumber
from olive.store._plans import Plan

__all__ = [
    "Agent",
    "AgentCredential",
    "AgentSession",
    "ApiKey",
    "Base",
    "Call",
    "Callback",
    "Campaign",
    "Contact",
    "ContactNumber",
    "DialList",
    "DispositionCode",
    "DncCheck",
    "DncNumber",
    "PauseReason",
    "Plan",
    "campaign_agents",
    "campaign_dial_lists",
]
