"""Call records as the API returns them. Times are ISO 8601 in UTC; durations in seconds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from olive.api._schemas import Out
from olive.calls import CallState, Outcome  # the API speaks the domain's vocabulary


class CallOut(Out):
    id: str = Field(description="olive's call id, also the Asterisk ChannelId")
    campaign_id: str
    contact_id: str | None
    contact_number_id: str | None
    agent_id: str | None
    number: str
    attempt: int
    server: str
    state: CallState
    outcome: Outcome | None = Field(description="null until the call has ended")
    dial_status: str | None
    hangup_cause: int | None
    hangup_cause_txt: str | None
    originate_reason: int | None
    originated_at: datetime
    answered_at: datetime | None
    queued_at: datetime | None
    agent_connected_at: datetime | None
    ended_at: datetime | None
    agent_interface: str | None
    customer_wait_s: float | None
    talk_s: float | None
    ring_s: float | None
    abandon_reason: str | None
    drop_message_played: bool | None
    amd_status: str | None = Field(None, description="answering-machine detection's verdict: MACHINE, HUMAN, NOTSURE or HANGUP")
    amd_cause: str | None = Field(None, description="what decided it, as app_amd says: e.g. LONGGREETING-1500-1500")
    ivr_key: str | None = Field(None, description="agentless: the key the person pressed (null: none)")
    ivr_status: str | None = Field(None, description="agentless: Read()'s READSTATUS: OK, TIMEOUT, HANGUP, ...")
    detail: str | None
    disposition: str | None
    disposition_note: str | None
    disposition_at: datetime | None
    disposition_by: str | None


class CallDetail(CallOut):
    action_id: str | None
    uniqueid: str | None
    linkedid: str | None
    channel: str | None
    agents_no_answer: list[dict[str, Any]] = Field(description="agents rung who did not answer")
    plan_snapshot: dict[str, Any] = Field(description="the plan as it was when this call started")
    created_at: datetime
    updated_at: datetime


#: The CSV export's columns, in order.
CSV_COLUMNS: tuple[str, ...] = tuple(CallOut.model_fields)

__all__ = ["CSV_COLUMNS", "CallDetail", "CallOut", "CallState", "Outcome"]
