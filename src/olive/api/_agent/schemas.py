"""What the agent's own endpoints take and return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from olive.api._agents.schemas import AgentOut
from olive.api._calls.endpoints import Time
from olive.api._dispositions.schemas import Code
from olive.api._schemas import PlainText

ReasonCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="e.g. lunch")]


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[PlainText, Field(min_length=1, max_length=200, description="the agent's name")]
    password: Annotated[str, Field(min_length=1, max_length=200, description="as the admin issued it")]


class SessionOut(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer <token>'; shown only now")
    expires_at: datetime
    agent_id: str
    name: str


class PasswordOut(BaseModel):
    agent_id: str
    password: str = Field(description="give it to the agent; shown only now, stored hashed")


class PauseReasonItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: ReasonCode
    label: Annotated[PlainText, Field(min_length=1, max_length=200)]


class PauseReasons(BaseModel):
    """A campaign's pause reasons, in the order agents see them (none set: olive's defaults)."""

    model_config = ConfigDict(extra="forbid")

    reasons: list[PauseReasonItem] = Field(max_length=50)


class CampaignBrief(BaseModel):
    id: str
    name: str
    status: str


class CodeBrief(BaseModel):
    code: str
    label: str
    callback: bool
    final: bool
    add_to_dnc: bool


class AgentSelf(BaseModel):
    """What the agent's page shows: the agent, their campaigns and what they may choose from."""

    agent: AgentOut
    campaigns: list[CampaignBrief]
    pause_reasons: list[PauseReasonItem] = Field(description="the reasons of the agent's campaigns, first campaign first")
    disposition_codes: list[CodeBrief]
    call_id: str | None = Field(description="the call on screen: on it now, or in its wrap-up until disposed")


class AgentPause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ReasonCode


class NumberBrief(BaseModel):
    number: str
    position: int
    attempts: int
    last_outcome: str | None
    dialed: bool = Field(description="the number of this call")


class Attempt(BaseModel):
    call_id: str
    number: str
    originated_at: datetime
    outcome: str | None
    agent: str | None
    talk_s: float | None
    disposition: str | None
    disposition_note: str | None


class CallbackBrief(BaseModel):
    due_at: datetime
    status: str
    note: str | None
    mine: bool = Field(description="owned by the signed-in agent")
    owner: str | None = Field(description="the owning agent's name; null: anyone")


class MyCallback(BaseModel):
    """A scheduled callback the signed-in agent owns: whom, when, and why."""

    id: str
    due_at: datetime
    note: str | None
    campaign: CampaignBrief
    contact_name: str | None
    external_ref: str | None
    number: str | None = Field(description="the contact's first number")
    source_call_id: str | None = Field(description="the call it was booked on")


class ScreenPop(BaseModel):
    """The contact on an agent's call: who, which number, their fields, and what happened before."""

    call_id: str
    campaign: CampaignBrief
    state: str
    connected_at: datetime | None
    ended_at: datetime | None
    number: str
    contact_id: str | None
    name: str | None
    external_ref: str | None
    timezone: str | None
    fields: dict[str, Any] = Field(description="the contact's fields from its CSV or API")
    numbers: list[NumberBrief]
    history: list[Attempt] = Field(description="every attempt to this contact, newest first")
    callbacks: list[CallbackBrief]
    disposition: str | None
    disposition_note: str | None


class PreviewCard(BaseModel):
    """Preview mode: the contact olive put on the agent's screen to dial or skip."""

    id: str
    campaign: CampaignBrief
    offered_at: datetime
    expires_at: datetime | None = Field(description="then skipped (the agent paused) or dialed, per the plan")
    timeout_action: str = Field(description="what happens at expires_at: skip or dial")
    contact_id: str
    name: str | None
    external_ref: str | None
    timezone: str | None
    number: str = Field(description="the number Dial calls")
    fields: dict[str, Any]
    numbers: list[NumberBrief]
    history: list[Attempt] = Field(description="every attempt to this contact, newest first")
    callbacks: list[CallbackBrief]


class PreviewOut(BaseModel):
    preview: PreviewCard | None = Field(description="null: nothing on the screen (not ready, or no contact due)")


class PreviewSkip(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[PlainText, Field(min_length=1, max_length=200, description="why, e.g. 'customer asked for email'")]


class PreviewDialed(BaseModel):
    call_id: str


class AgentDisposition(BaseModel):
    """The agent's disposition of their call, with notes; a callback code needs ``callback_at``."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    note: Annotated[PlainText, Field(max_length=2000)] | None = None
    callback_at: Time | None = Field(default=None, description="with a callback code: when (ISO 8601 with zone)")
    callback_mine: bool = Field(default=True, description="with a callback code: mine (true) or anyone's (false)")


__all__ = [
    "AgentDisposition",
    "AgentPause",
    "AgentSelf",
    "Attempt",
    "CallbackBrief",
    "CampaignBrief",
    "CodeBrief",
    "MyCallback",
    "NumberBrief",
    "PasswordOut",
    "PauseReasonItem",
    "PauseReasons",
    "PreviewCard",
    "PreviewDialed",
    "PreviewOut",
    "PreviewSkip",
    "ScreenPop",
    "SessionOut",
    "SignIn",
]
