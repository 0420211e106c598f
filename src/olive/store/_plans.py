"""Plans: how a campaign dials, and when it tries a contact again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import CheckConstraint, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from olive import calls
from olive.store._base import Base, JSONType, TimestampMixin, id_column
from olive.store._vocab import AMD_ACTIONS, AMD_NOTSURE, DIAL_MODES, DROP_ACTIONS, one_of

#: The outcomes a plan has a retry rule for: every outcome that is not final (olive.calls),
#: and UNKNOWN, a FAILED attempt whose real outcome olive could not learn (never retried
#: unless the plan says so).
RETRY_OUTCOMES: Final = calls.RETRY_OUTCOMES

DEFAULT_RETRY_RULES: Final[Mapping[str, Mapping[str, int]]] = {
    outcome: {"max_attempts": attempts, "delay_s": delay} for outcome, (attempts, delay) in calls.DEFAULT_RETRY.items()
}


@dataclass(frozen=True, slots=True)
class RetryRule:
    """At most ``max_attempts`` attempts of a number may end with this outcome
    (0: never try again after it); the next try waits ``delay_s`` seconds."""

    max_attempts: int
    delay_s: int

    @property
    def retries(self) -> bool:
        return self.max_attempts > 0


NEVER: Final = RetryRule(0, 0)


def default_retry_rules() -> dict[str, dict[str, int]]:
    """A fresh, mutable copy of :data:`DEFAULT_RETRY_RULES`."""
    return {k: dict(v) for k, v in DEFAULT_RETRY_RULES.items()}


def retry_rule(rules: Mapping[str, Any] | None, outcome: str) -> RetryRule:
    """The rule for ``outcome``: the plan's own, else the default, else never.

    Pure. ``rules`` is a plan's ``retry_rules`` JSON. A final outcome (CONNECTED) is
    never retried, whatever the rules say, nor is an outcome with no rule anywhere.
    """
    if outcome not in RETRY_OUTCOMES:
        return NEVER
    raw = (rules or {}).get(outcome)
    if raw is None:
        raw = DEFAULT_RETRY_RULES.get(outcome)
    if raw is None:
        return NEVER
    return RetryRule(int(raw["max_attempts"]), int(raw["delay_s"]))


def validate_retry_rules(rules: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Check a retry-rules mapping; return it normalised. Raises ValueError naming the bad key."""
    out: dict[str, dict[str, int]] = {}
    for outcome, rule in rules.items():
        if outcome not in RETRY_OUTCOMES:
            raise ValueError(f"retry_rules.{outcome}: not a retryable outcome {RETRY_OUTCOMES}")
        if not isinstance(rule, Mapping) or set(rule) != {"max_attempts", "delay_s"}:
            raise ValueError(f"retry_rules.{outcome}: expected {{max_attempts, delay_s}}")
        values: dict[str, int] = {}
        for key in ("max_attempts", "delay_s"):
            value = rule[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"retry_rules.{outcome}.{key}: expected an integer >= 0")
            values[key] = value
        out[outcome] = values
    return out


DEFAULT_CONTEXT: Final = "olive-dialer"
AMD_CONTEXT: Final = "olive-amd"
AGENTLESS_CONTEXT: Final = "olive-broadcast"
#: amd.conf's after_greeting_silence (docs/asterisk/amd.conf): AMD calls a person HUMAN this
#: long after their greeting, so it counts against the 2-second connect limit.
AMD_AFTER_GREETING_S: Final = 0.8
#: The shortest wait for an agent [olive-amd] is given after AMD's verdict, for a connect limit
#: no longer than after_greeting_silence: the person is dropped at once (docs/compliance.md).
AMD_MIN_CONNECT_S: Final = 0.1
#: The default estimate of the share of MACHINE verdicts that were people, until the operator
#: has measured their own (docs/compliance.md): an assumption, not a measurement.
AMD_FALSE_POSITIVE_SHARE: Final = 0.03
#: The shared queue where owned callbacks wait for their owner (docs/asterisk/queues.conf).
CALLBACK_QUEUE: Final = "olive-callbacks"


def connect_limit(connect_limit_s: float) -> str:
    """[olive-dialer]'s and [olive-broadcast]'s OLIVE_CONNECT_LIMIT: the plan's limit in seconds,
    with decimals to the millisecond, kept with TIMEOUT(absolute) (docs/compliance.md). At
    least a millisecond: TIMEOUT(absolute)=0 would be no limit at all."""
    return _seconds(max(0.001, round(connect_limit_s, 3)))


def amd_connect_limit(connect_limit_s: float) -> str:
    """[olive-amd]'s OLIVE_CONNECT_LIMIT: seconds from AMD's HUMAN verdict, with decimals."""
    return _seconds(max(AMD_MIN_CONNECT_S, round(connect_limit_s - AMD_AFTER_GREETING_S, 3)))


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def amd_variables(plan: Mapping[str, Any]) -> dict[str, str]:
    """The Originate variables [olive-amd] reads, from a plan snapshot; none with AMD off.

    The queue gets what is left of the connect limit once AMD has heard the end of the
    greeting, to the millisecond: 2 s - 0.8 s leaves 1.2 s, which [olive-amd] keeps with
    TIMEOUT(absolute) (Queue()'s own timeout counts whole seconds: docs/compliance.md).
    At least AMD_MIN_CONNECT_S: TIMEOUT(absolute)=0 would be no limit at all."""
    action = plan.get("amd") or "off"
    if action == "off":
        return {}
    limit = float(plan.get("connect_limit_s", 2.0))
    return {
        "OLIVE_AMD": str(action),
        "OLIVE_AMD_MESSAGE": str(plan.get("amd_message") or "") if action == "message" else "",
        "OLIVE_AMD_NOTSURE": str(plan.get("amd_notsure") or "agent"),
        "OLIVE_CONNECT_LIMIT": amd_connect_limit(limit),
    }


def agentless_variables(plan: Mapping[str, Any]) -> dict[str, str]:
    """The Originate variables [olive-broadcast] reads, from a plan snapshot; none unless
    the plan is agentless. Read() runs only when a key means something."""
    if plan.get("dial_mode") != "agentless":
        return {}
    agent, optout = plan.get("ivr_agent_key") or "", plan.get("ivr_optout_key") or ""
    return {
        "OLIVE_MESSAGE": str(plan.get("message") or ""),
        "OLIVE_IVR_KEYS": f"{agent}{optout}",
        "OLIVE_IVR_PROMPT": str(plan.get("ivr_prompt") or ""),
        "OLIVE_IVR_TIMEOUT": str(int(plan.get("ivr_timeout_s") or 5)),
        "OLIVE_IVR_AGENT": str(agent),
    }


def opt_out_key(plan: Mapping[str, Any]) -> str | None:
    """The key that puts the number on the campaign's do-not-call list (agentless plans)."""
    if plan.get("dial_mode") != "agentless":
        return None
    return str(plan.get("ivr_optout_key") or "") or None


class Plan(TimestampMixin, Base):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint(one_of("dial_mode", DIAL_MODES), name="dial_mode"),
        CheckConstraint(one_of("drop_action", DROP_ACTIONS), name="drop_action"),
        CheckConstraint("dial_timeout_s BETWEEN 1 AND 300", name="dial_timeout_s"),
        CheckConstraint("channel_template LIKE '%{number}%'", name="channel_template"),
        CheckConstraint("max_concurrent >= 1", name="max_concurrent"),
        CheckConstraint("lines_per_agent > 0", name="lines_per_agent"),
        CheckConstraint("max_calls_per_second > 0", name="max_calls_per_second"),
        CheckConstraint("abandon_target >= 0 AND abandon_target <= 1", name="abandon_target"),
        CheckConstraint("wrapup_s >= 0", name="wrapup_s"),
        CheckConstraint("connect_limit_s > 0", name="connect_limit_s"),
        CheckConstraint("drop_action = 'hangup' OR drop_message IS NOT NULL", name="drop_message"),
        CheckConstraint(one_of("amd", AMD_ACTIONS), name="amd"),
        CheckConstraint(one_of("amd_notsure", AMD_NOTSURE), name="amd_notsure"),
        CheckConstraint("amd <> 'message' OR amd_message IS NOT NULL", name="amd_message"),
        CheckConstraint("amd_false_positive_share >= 0 AND amd_false_positive_share <= 1", name="amd_false_positive_share"),
        CheckConstraint("dial_mode <> 'agentless' OR message IS NOT NULL", name="message"),
        CheckConstraint("ivr_timeout_s BETWEEN 1 AND 60", name="ivr_timeout_s"),
        CheckConstraint("callback_owner_timeout_s IS NULL OR callback_owner_timeout_s >= 0", name="callback_owner_timeout_s"),
        CheckConstraint("preview_timeout_s IS NULL OR preview_timeout_s > 0", name="preview_timeout_s"),
        CheckConstraint("preview_timeout_action IN ('skip', 'dial')", name="preview_timeout_action"),
    )

    id: Mapped[str] = id_column("plan")
    name: Mapped[str] = mapped_column(String(200), unique=True)
    dial_mode: Mapped[str] = mapped_column(String(16), default="progressive")
    dial_timeout_s: Mapped[int] = mapped_column(Integer, default=30)
    caller_id: Mapped[str | None] = mapped_column(String(200))
    channel_template: Mapped[str] = mapped_column(String(200))
    context: Mapped[str] = mapped_column(String(80), default="olive-dialer")
    max_concurrent: Mapped[int] = mapped_column(Integer, default=50)
    lines_per_agent: Mapped[float] = mapped_column(Float, default=1.5)
    max_calls_per_second: Mapped[float] = mapped_column(Float, default=10.0)
    abandon_target: Mapped[float] = mapped_column(Float, default=0.03)
    wrapup_s: Mapped[float] = mapped_column(Float, default=0.0)
    connect_limit_s: Mapped[float] = mapped_column(Float, default=2.0)
    drop_action: Mapped[str] = mapped_column(String(16), default="hangup")
    drop_message: Mapped[str | None] = mapped_column(String(200))
    retry_rules: Mapped[dict[str, Any]] = mapped_column(JSONType, default=default_retry_rules)
    amd: Mapped[str] = mapped_column(String(16), default="off", server_default="off")
    amd_message: Mapped[str | None] = mapped_column(String(200))
    amd_notsure: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")
    #: The share of MACHINE verdicts estimated to have been people (AMD's false positives):
    #: each such call is an abandoned call in law. Measure it (listen to a sample); see compliance.md.
    amd_false_positive_share: Mapped[float] = mapped_column(
        Float, default=AMD_FALSE_POSITIVE_SHARE, server_default=str(AMD_FALSE_POSITIVE_SHARE))
    # Agentless plans (dial_mode agentless): what [olive-broadcast] plays and which keys it reads.
    message: Mapped[str | None] = mapped_column(String(200))
    ivr_prompt: Mapped[str | None] = mapped_column(String(200))
    ivr_agent_key: Mapped[str | None] = mapped_column(String(1))
    ivr_optout_key: Mapped[str | None] = mapped_column(String(1))  # PlanSpec defaults it to 9; None: no key
    ivr_timeout_s: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    #: The queue an owned callback's answered call waits in for its owner alone (null: the campaign's
    #: queue, whoever is free). New plans get CALLBACK_QUEUE from PlanSpec; plans from before it have none.
    #: See docs/agents.md and docs/asterisk/queues.conf.
    callback_queue: Mapped[str | None] = mapped_column(String(80))
    #: How long past its time a due owned callback waits for its owner to be ready before any agent
    #: may take it (null: it waits for the owner, however long).
    callback_owner_timeout_s: Mapped[float | None] = mapped_column(Float)
    #: Preview mode: how long a contact stays on an agent's screen unattended (None: until they act),
    #: then skipped (the agent paused) or dialed.
    preview_timeout_s: Mapped[float | None] = mapped_column(Float)
    preview_timeout_action: Mapped[str] = mapped_column(String(16), default="skip", server_default="skip")

    def retry_rule(self, outcome: str) -> RetryRule:
        return retry_rule(self.retry_rules, outcome)

    def snapshot(self) -> dict[str, Any]:
        """The plan's settings as plain JSON, for ``Call.plan_snapshot``; ``context`` is the
        one answered calls really go to."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "dial_mode": self.dial_mode,
            "dial_timeout_s": self.dial_timeout_s,
            "caller_id": self.caller_id,
            "channel_template": self.channel_template,
            "context": self.context,
            "max_concurrent": self.max_concurrent,
            "lines_per_agent": self.lines_per_agent,
            "max_calls_per_second": self.max_calls_per_second,
            "abandon_target": self.abandon_target,
            "wrapup_s": self.wrapup_s,
            "connect_limit_s": self.connect_limit_s,
            "drop_action": self.drop_action,
            "drop_message": self.drop_message,
            "retry_rules": {k: dict(v) for k, v in (self.retry_rules or {}).items()},
            "amd": self.amd or "off",
            "amd_message": self.amd_message,
            "amd_notsure": self.amd_notsure or "agent",
            "amd_false_positive_share": (
                AMD_FALSE_POSITIVE_SHARE if self.amd_false_positive_share is None else self.amd_false_positive_share
            ),
            "message": self.message,
            "ivr_prompt": self.ivr_prompt,
            "ivr_agent_key": self.ivr_agent_key,
            "ivr_optout_key": self.ivr_optout_key,
            "ivr_timeout_s": 5 if self.ivr_timeout_s is None else self.ivr_timeout_s,
            "callback_queue": self.callback_queue,
            "callback_owner_timeout_s": self.callback_owner_timeout_s,
            "preview_timeout_s": self.preview_timeout_s,
            "preview_timeout_action": self.preview_timeout_action or "skip",
        }
        # With AMD, answered calls go through [olive-amd] first (docs/asterisk/extensions.conf);
        # an agentless plan's go to [olive-broadcast].
        if out["amd"] != "off" and out["context"] == DEFAULT_CONTEXT:
            out["context"] = AMD_CONTEXT
        if out["dial_mode"] == "agentless" and out["context"] == DEFAULT_CONTEXT:
            out["context"] = AGENTLESS_CONTEXT
        return out


__all__ = [
    "AGENTLESS_CONTEXT",
    "AMD_AFTER_GREETING_S",
    "AMD_CONTEXT",
    "AMD_FALSE_POSITIVE_SHARE",
    "AMD_MIN_CONNECT_S",
    "CALLBACK_QUEUE",
    "DEFAULT_RETRY_RULES",
    "NEVER",
    "RETRY_OUTCOMES",
    "Plan",
    "RetryRule",
    "agentless_variables",
    "amd_connect_limit",
    "amd_variables",
    "connect_limit",
    "default_retry_rules",
    "opt_out_key",
    "retry_rule",
    "validate_retry_rules",
]
