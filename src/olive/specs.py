"""What a user may ask for: plans, campaigns, agents, checked before anything is stored.

Shared by campaign files (``olive run``) and the REST API, so both refuse
the same things with the same words. Pydantic reports every bad field with
its path (``plan.dial_timeout_s``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from olive.ami import MAX_DIAL_TIMEOUT_S, MIN_DIAL_TIMEOUT_S
from olive.controls import CONTROL_CLASS, NO_CONTROL_PATTERN
from olive.store import CALLBACK_QUEUE, RETRY_OUTCOMES, default_retry_rules

LEGAL_MIN_RING_S = 15  # ring at least 15 s (US TSR, UK Ofcom) unless the profile is "none"
MAX_LEGAL_CONNECT_LIMIT_S = 2.0

DialMode = Literal["progressive", "power", "predictive", "preview", "agentless"]
Profile = Literal["us-tsr", "uk-ofcom", "none"]
_SAFE = re.compile(NO_CONTROL_PATTERN)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._\-]{0,199}$")
_QUEUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,79}$")
_INTERFACE = re.compile(rf"^[A-Za-z0-9]+/[^\s,|{CONTROL_CLASS}]{{1,190}}$")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


Name = Annotated[str, Field(min_length=1, max_length=200, pattern=_NAME.pattern)]
SafeText = Annotated[str, Field(max_length=200, pattern=_SAFE.pattern)]
#: An Asterisk server's name, as ``olive serve``'s configuration names it ([asterisk.NAME]).
ServerName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,80}$")]


class RetryRuleSpec(_Spec):
    max_attempts: int = Field(ge=0, le=100)
    delay_s: int = Field(ge=0, le=90 * 86400)


class PlanSpec(_Spec):
    name: Name | None = None
    dial_mode: DialMode = "progressive"
    dial_timeout_s: int = Field(30, ge=MIN_DIAL_TIMEOUT_S, le=MAX_DIAL_TIMEOUT_S, description="ring time in seconds")
    caller_id: SafeText | None = None
    channel_template: SafeText = Field(description="e.g. PJSIP/{number}@trunk")
    context: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,80}$")] = "olive-dialer"
    max_concurrent: int = Field(50, ge=1, le=10_000)
    lines_per_agent: float = Field(1.5, gt=0, le=20)
    max_calls_per_second: float = Field(10.0, gt=0, le=1000)
    abandon_target: float = Field(0.03, gt=0, lt=1)
    wrapup_s: float = Field(0.0, ge=0, le=3600)
    connect_limit_s: float = Field(2.0, gt=0, le=60)
    drop_action: Literal["hangup", "message"] = "hangup"
    drop_message: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-/.]{1,200}$")] | None = None
    retry_rules: dict[str, RetryRuleSpec] = Field(default_factory=lambda: {k: RetryRuleSpec(**v) for k, v in default_retry_rules().items()})
    amd: Literal["off", "hangup", "message", "agent"] = Field(
        "off", description="answering-machine detection: what to do with a MACHINE (off: no detection)")
    amd_message: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-/.]{1,200}$")] | None = Field(
        None, description="with amd 'message': the recording left after the machine's beep")
    amd_notsure: Literal["agent", "machine"] = Field(
        "agent", description="what AMD's NOTSURE verdict is taken for")
    amd_false_positive_share: float = Field(
        0.03, ge=0, le=1, description="estimated share of MACHINE verdicts that were people (counted as abandoned)")
    message: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-/.]{1,200}$")] | None = Field(
        None, description="dial_mode agentless: the recording played to whoever answers")
    ivr_prompt: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-/.]{1,200}$")] | None = Field(
        None, description="agentless: a recording played after the message, e.g. 'press 1 to talk to someone'")
    ivr_agent_key: Annotated[str, Field(pattern=r"^[0-9*]$")] | None = Field(
        None, description="agentless: the key that puts the caller through to an agent (none: no agents)")
    ivr_optout_key: Annotated[str, Field(pattern=r"^[0-9*]$")] | None = Field(
        "9", description="agentless: the key that adds the number to the campaign's do-not-call list at once")
    ivr_timeout_s: int = Field(5, ge=1, le=60, description="agentless: seconds to wait for a key after the recordings")
    callback_queue: Annotated[str, Field(pattern=_QUEUE.pattern)] | None = Field(
        CALLBACK_QUEUE, description="the queue where an owned callback waits for its owner alone (null: any agent takes it)")
    callback_owner_timeout_s: float | None = Field(
        None, ge=0, le=30 * 86400,
        description="how long past its time an owned callback waits for its owner to be ready before any agent may take it "
        "(null: it waits for the owner)")
    preview_timeout_s: float | None = Field(
        120.0, gt=0, le=86400,
        description="preview mode: how long a contact stays on an agent's screen unattended (null: until they act)")
    preview_timeout_action: Literal["skip", "dial"] = Field(
        "skip", description="preview mode, when nobody acted in time: skip the contact (and pause the agent) or dial it")

    @field_validator("channel_template")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{number}" not in value and "{digits}" not in value:
            raise ValueError("must contain {number} (or {digits}), e.g. PJSIP/{number}@trunk")
        if "/" not in value:
            raise ValueError("must name a channel technology, e.g. PJSIP/{number}@trunk")
        return value

    @field_validator("callback_queue", mode="before")
    @classmethod
    def _no_callback_queue(cls, value: Any) -> Any:
        return None if value == "" else value  # a campaign file (TOML has no null) turns it off with ""

    @field_validator("retry_rules")
    @classmethod
    def _outcomes(cls, value: dict[str, RetryRuleSpec]) -> dict[str, RetryRuleSpec]:
        for outcome in value:
            if outcome not in RETRY_OUTCOMES:
                raise ValueError(f"{outcome!r} is not a retryable outcome ({', '.join(RETRY_OUTCOMES)})")
        return value

    @model_validator(mode="after")
    def _drop(self) -> PlanSpec:
        if self.drop_action == "message" and not self.drop_message:
            raise ValueError("drop_action 'message' needs drop_message (a recording name)")
        if self.amd == "message" and not self.amd_message:
            raise ValueError("amd 'message' needs amd_message (a recording name)")
        if self.dial_mode == "agentless":
            if not self.message:
                raise ValueError("dial_mode 'agentless' needs message (a recording name)")
            if self.amd != "off":
                raise ValueError("dial_mode 'agentless' does not run AMD: set amd 'off'")
            if self.ivr_agent_key is not None and self.ivr_agent_key == self.ivr_optout_key:
                raise ValueError("ivr_agent_key and ivr_optout_key must differ")
        if self.dial_mode == "preview" and not self.callback_queue:
            raise ValueError("dial_mode 'preview' needs callback_queue (the agent stays a member there while their call is up)")
        return self

    def to_row(self) -> dict[str, Any]:
        data = self.model_dump(exclude={"name"})
        data["retry_rules"] = {k: v.model_dump() for k, v in self.retry_rules.items()}
        return data


def check_plan_for_profile(plan: PlanSpec | dict[str, Any], profile: str) -> list[str]:
    """What a compliance profile forbids in a plan; empty when allowed."""
    get = plan.get if isinstance(plan, dict) else lambda k, d=None: getattr(plan, k, d)
    problems = []
    if profile != "none":
        if int(get("dial_timeout_s", 30)) < LEGAL_MIN_RING_S:
            problems.append(f"dial_timeout_s must be at least {LEGAL_MIN_RING_S} s under the {profile} profile (ring at least 15 s)")
        if float(get("connect_limit_s", 2.0)) > MAX_LEGAL_CONNECT_LIMIT_S:
            problems.append(f"connect_limit_s may not exceed {MAX_LEGAL_CONNECT_LIMIT_S} s under the {profile} profile")
        if float(get("abandon_target", 0.03)) > 0.03:
            problems.append(f"abandon_target may not exceed 3% under the {profile} profile")
    return problems


class AgentSpec(_Spec):
    name: Name
    interface: Annotated[str, Field(pattern=_INTERFACE.pattern, description="e.g. PJSIP/101")]
    server: ServerName | None = Field(
        default=None,
        description="the Asterisk server their phone registers on; none: their campaigns' first server",
    )


class CampaignSpec(_Spec):
    name: Name
    queue: Annotated[str, Field(pattern=_QUEUE.pattern, description="the Asterisk queue answered calls go to")]
    server: ServerName = "default"
    compliance_profile: Profile = "us-tsr"
    default_region: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] = "US"
    schedule: dict[str, Any] | None = None


__all__ = [
    "LEGAL_MIN_RING_S",
    "AgentSpec",
    "CampaignSpec",
    "PlanSpec",
    "RetryRuleSpec",
    "ServerName",
    "check_plan_for_profile",
]
