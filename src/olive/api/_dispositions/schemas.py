"""Disposition codes and an agent's disposition of a call."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from olive.api._calls.endpoints import Time
from olive.api._schemas import IdRef, Out, PlainText, partial_model

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="e.g. not_interested")]
MAX_DELAY_S = 90 * 86400


class DispositionCodeCreate(BaseModel):
    """A code agents may set, with what it does to the contact (strongest first: add_to_dnc, callback, final, retry)."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    label: Annotated[PlainText, Field(min_length=1, max_length=200)]
    final: bool = Field(default=False, description="the contact is done")
    retry: bool = Field(default=False, description="try the contact's next number after retry_delay_s")
    add_to_dnc: bool = Field(default=False, description="the number goes on the global do-not-call list at once")
    callback: bool = Field(default=False, description="schedule a callback (callback_at is then required)")
    retry_delay_s: int = Field(default=3600, ge=0, le=MAX_DELAY_S)


class DispositionCodeUpdate(partial_model(DispositionCodeCreate, "DispositionCodeUpdateFields", exclude=("code",))):  # type: ignore[misc]
    """Fields to change."""


class DispositionCodeOut(Out):
    code: str
    label: str
    final: bool
    retry: bool
    add_to_dnc: bool
    callback: bool
    retry_delay_s: int
    created_at: datetime
    updated_at: datetime


class DispositionSet(BaseModel):
    """An agent's disposition of a call: during it or after it."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    note: Annotated[PlainText, Field(max_length=2000)] | None = None
    by: Annotated[PlainText, Field(max_length=200, description="who set it, e.g. the agent's name")] | None = None
    callback_at: Time | None = Field(default=None, description="with a callback code: when (ISO 8601 with zone)")
    callback_agent_id: IdRef | None = Field(default=None, description="with a callback code: its owner; null: anyone")


class DispositionOut(BaseModel):
    call_id: str
    code: str
    applied: bool = Field(description="false while the call is up: it takes effect when the call ends")
    callback_id: str | None
    dnc_added: bool = Field(description="the number was added to the global do-not-call list now")


__all__ = [
    "Code",
    "DispositionCodeCreate",
    "DispositionCodeOut",
    "DispositionCodeUpdate",
    "DispositionOut",
    "DispositionSet",
]
