"""Plans as the API takes and returns them; validation is :class:`olive.specs.PlanSpec`'s."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from olive.api._schemas import Stamped, partial_model
from olive.controls import CONTROL_CLASS
from olive.specs import Name, PlanSpec

#: A channel template: a technology (``PJSIP/``) and ``{number}`` or ``{digits}``, in either order.
_C = CONTROL_CLASS
TEMPLATE_PATTERN = rf"^[^{_C}]*(/[^{_C}]*\{{(number|digits)\}}|\{{(number|digits)\}}[^{_C}]*/)[^{_C}]*$"


class PlanCreate(PlanSpec):
    """A new plan. The same rules as a campaign file's ``[plan]``; ``name`` is required."""

    name: Name
    channel_template: Annotated[
        str, Field(max_length=200, pattern=TEMPLATE_PATTERN, description="e.g. PJSIP/{number}@trunk")
    ]


class PlanUpdate(partial_model(PlanCreate, "PlanUpdateFields")):  # type: ignore[misc]
    """Fields to change; absent fields stay as they are. ``retry_rules`` is replaced whole."""


class RetryRuleOut(BaseModel):
    max_attempts: int
    delay_s: int


class PlanOut(Stamped):
    name: str
    dial_mode: Literal["progressive", "power", "predictive", "preview", "agentless"]
    dial_timeout_s: int
    caller_id: str | None
    channel_template: str
    context: str
    max_concurrent: int
    lines_per_agent: float
    max_calls_per_second: float
    abandon_target: float
    wrapup_s: float
    connect_limit_s: float
    drop_action: Literal["hangup", "message"]
    drop_message: str | None
    retry_rules: dict[str, RetryRuleOut]
    amd: Literal["off", "hangup", "message", "agent"] = "off"
    amd_message: str | None = None
    amd_notsure: Literal["agent", "machine"] = "agent"
    amd_false_positive_share: float = 0.03
    message: str | None = None
    ivr_prompt: str | None = None
    ivr_agent_key: str | None = None
    ivr_optout_key: str | None = "9"
    ivr_timeout_s: int = 5
    callback_queue: str | None = "olive-callbacks"
    callback_owner_timeout_s: float | None = None
    preview_timeout_s: float | None = None
    preview_timeout_action: Literal["skip", "dial"] = "skip"


__all__ = ["PlanCreate", "PlanOut", "PlanUpdate", "RetryRuleOut"]
