"""Explanations and exports as the API returns them. Times are ISO 8601 in UTC."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["attempts", "abandons", "dnc-checks", "dnc"]


class ReasonOut(BaseModel):
    code: str = Field(description="outside_hours, dnc, attempts_exhausted, retry_delay, abandon_lockout, "
                      "campaign_not_running, ... (see the compliance guide)")
    message: str
    clears_at: str | None = Field(description="when it clears by itself; null when it does not")
    clears: str = Field(description="when it clears, in words")


class LocalTime(BaseModel):
    zone: str
    local_time: str


class CallingHours(BaseModel):
    open: bool
    local_times: list[LocalTime] = Field(description="the contact's local time in each of its zones")
    opens_at: str | None
    closes_at: str | None


class CampaignEligibility(BaseModel):
    campaign_id: str
    campaign: str
    dial_now: bool = Field(description="due and allowed: dialed when the campaign next places a call")
    summary: str
    eligible_at: str | None = Field(description="when every reason will have cleared; null: not by itself")
    reasons: list[ReasonOut]
    calling_hours: CallingHours | None


class ContactEligibility(BaseModel):
    contact_id: str
    dial_now: bool = Field(description="true if some campaign will dial it now")
    campaigns: list[CampaignEligibility] = Field(description="one per campaign dialing the contact's list")


class CampaignDialing(BaseModel):
    campaign_id: str
    campaign: str
    status: str
    dialing: bool = Field(description="could it place a call now, as far as the store tells")
    reasons: list[str] = Field(description="why it dials nothing, when it does not")
    warnings: list[str]
    contacts: dict[str, int] = Field(description="contacts by status")
    due_now: int
    eligible_now: int
    held_back: dict[str, int] = Field(description="reason code -> due contacts it holds back")
    next_due_at: str | None
    engine_note: str | None = Field(description="the running engine's own note on the campaign")


__all__ = ["CallingHours", "CampaignDialing", "CampaignEligibility", "ContactEligibility", "Kind", "LocalTime", "ReasonOut"]
