"""Retry rules and plan snapshots (pure: no database)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from olive.store import (
    DEFAULT_RETRY_RULES,
    RETRY_OUTCOMES,
    Plan,
    RetryRule,
    default_retry_rules,
    retry_rule,
    validate_retry_rules,
)


class TestRetryRule:
    def test_defaults(self) -> None:
        assert retry_rule(None, "BUSY") == RetryRule(3, 300)
        assert retry_rule({}, "NO_ANSWER") == RetryRule(3, 3600)
        assert retry_rule({}, "CONGESTION") == RetryRule(3, 120)
        assert retry_rule({}, "FAILED") == RetryRule(2, 600)
        assert retry_rule({}, "ABANDONED") == RetryRule(2, 3600)
        assert retry_rule({}, "CANCELLED") == RetryRule(1, 60)
        assert retry_rule({}, "INVALID_NUMBER").retries is False

    def test_every_retry_outcome_has_a_default(self) -> None:
        assert set(DEFAULT_RETRY_RULES) == set(RETRY_OUTCOMES)

    def test_plan_rule_overrides_default(self) -> None:
        rules = {"BUSY": {"max_attempts": 5, "delay_s": 30}}
        assert retry_rule(rules, "BUSY") == RetryRule(5, 30)
        assert retry_rule(rules, "NO_ANSWER") == RetryRule(3, 3600)

    @pytest.mark.parametrize("outcome", ["CONNECTED", "SOMETHING"])
    def test_final_and_unknown_outcomes_never_retry(self, outcome: str) -> None:
        rule = retry_rule({}, outcome)
        assert (rule.max_attempts, rule.retries) == (0, False)

    def test_a_final_outcome_never_retries_whatever_the_rules_say(self) -> None:
        # The store said "CONNECTED is final" in a comment only: a rules mapping naming it
        # (a plan row written around validate_retry_rules) made it retryable.
        rules = {"CONNECTED": {"max_attempts": 3, "delay_s": 60}}
        assert retry_rule(rules, "CONNECTED").retries is False

    def test_an_answering_machine_is_tried_again_at_another_time_of_day(self) -> None:
        assert retry_rule({}, "MACHINE") == RetryRule(3, 4 * 3600)
        assert retry_rule({"MACHINE": {"max_attempts": 0, "delay_s": 0}}, "MACHINE").retries is False

    def test_default_copy_is_independent(self) -> None:
        rules = default_retry_rules()
        rules["BUSY"]["max_attempts"] = 99
        assert DEFAULT_RETRY_RULES["BUSY"]["max_attempts"] == 3


class TestValidateRetryRules:
    def test_accepts_and_normalises(self) -> None:
        assert validate_retry_rules(DEFAULT_RETRY_RULES) == default_retry_rules()

    @pytest.mark.parametrize(
        "rules, where",
        [
            ({"CONNECTED": {"max_attempts": 1, "delay_s": 1}}, "retry_rules.CONNECTED"),
            ({"BUSY": {"max_attempts": 1}}, "retry_rules.BUSY"),
            ({"BUSY": [1, 2]}, "retry_rules.BUSY"),
            ({"BUSY": {"max_attempts": -1, "delay_s": 1}}, "retry_rules.BUSY.max_attempts"),
            ({"BUSY": {"max_attempts": 1, "delay_s": 1.5}}, "retry_rules.BUSY.delay_s"),
            ({"BUSY": {"max_attempts": True, "delay_s": 1}}, "retry_rules.BUSY.max_attempts"),
        ],
    )
    def test_names_the_bad_field(self, rules: dict[str, Any], where: str) -> None:
        with pytest.raises(ValueError, match=where.replace(".", r"\.")):
            validate_retry_rules(rules)


class TestSnapshot:
    def test_snapshot_is_plain_json_and_detached(self) -> None:
        plan = Plan(
            id="plan_X",
            name="p",
            dial_mode="power",
            dial_timeout_s=25,
            channel_template="PJSIP/{number}@trunk",
            retry_rules=default_retry_rules(),
        )
        snapshot = plan.snapshot()
        assert json.loads(json.dumps(snapshot)) == snapshot
        assert (snapshot["dial_mode"], snapshot["dial_timeout_s"]) == ("power", 25)
        snapshot["retry_rules"]["BUSY"]["max_attempts"] = 0
        assert plan.retry_rules["BUSY"]["max_attempts"] == 3
        assert plan.retry_rule("BUSY") == RetryRule(3, 300)


class TestAmdSettings:
    def test_off_sends_nothing_and_keeps_the_context(self) -> None:
        from olive.store import Plan, amd_variables

        plan = Plan(name="p", channel_template="PJSIP/{number}@t", context="olive-dialer", amd="off",
                    connect_limit_s=2.0, retry_rules={})
        assert amd_variables(plan.snapshot()) == {}
        assert plan.snapshot()["context"] == "olive-dialer"

    def test_on_goes_through_olive_amd_with_the_connect_limit_less_amds_silence(self) -> None:
        from olive.store import Plan, amd_variables

        plan = Plan(name="p", channel_template="PJSIP/{number}@t", context="olive-dialer", amd="message",
                    amd_message="acme/vm", amd_notsure="machine", connect_limit_s=2.0, retry_rules={})
        snap = plan.snapshot()
        assert snap["context"] == "olive-amd"
        assert amd_variables(snap) == {
            "OLIVE_AMD": "message", "OLIVE_AMD_MESSAGE": "acme/vm", "OLIVE_AMD_NOTSURE": "machine",
            "OLIVE_CONNECT_LIMIT": "1",  # 2 s - 0.8 s of after-greeting silence, whole seconds
        }

    def test_a_custom_context_is_left_alone(self) -> None:
        from olive.store import Plan

        plan = Plan(name="p", channel_template="PJSIP/{number}@t", context="my-amd", amd="hangup", retry_rules={})
        assert plan.snapshot()["context"] == "my-amd"

    def test_message_needs_a_recording(self) -> None:
        from pydantic import ValidationError

        from olive.specs import PlanSpec

        with pytest.raises(ValidationError, match="amd_message"):
            PlanSpec(channel_template="PJSIP/{number}@t", amd="message")
        assert PlanSpec(channel_template="PJSIP/{number}@t", amd="message", amd_message="acme/vm").amd == "message"


class TestAgentlessSettings:
    def plan(self, **kw: object) -> Any:
        from olive.store import Plan

        fields = {"name": "p", "channel_template": "PJSIP/{number}@t", "context": "olive-dialer", "retry_rules": {},
                  "dial_mode": "agentless", "message": "acme/offer", "ivr_optout_key": "9", "ivr_timeout_s": 5, **kw}
        return Plan(**fields)

    def test_agentless_goes_to_olive_broadcast_with_its_message_and_keys(self) -> None:
        from olive.store import agentless_variables, opt_out_key

        snap = self.plan(ivr_prompt="acme/press", ivr_agent_key="1").snapshot()
        assert snap["context"] == "olive-broadcast"
        assert agentless_variables(snap) == {
            "OLIVE_MESSAGE": "acme/offer", "OLIVE_IVR_KEYS": "19", "OLIVE_IVR_PROMPT": "acme/press",
            "OLIVE_IVR_TIMEOUT": "5", "OLIVE_IVR_AGENT": "1",
        }
        assert opt_out_key(snap) == "9"

    def test_without_keys_the_message_just_plays(self) -> None:
        from olive.store import agentless_variables, opt_out_key

        snap = self.plan(ivr_optout_key=None).snapshot()
        assert agentless_variables(snap)["OLIVE_IVR_KEYS"] == ""
        assert opt_out_key(snap) is None

    def test_other_modes_send_nothing_and_opt_nobody_out(self) -> None:
        from olive.store import agentless_variables, opt_out_key

        snap = self.plan(dial_mode="progressive").snapshot()
        assert snap["context"] == "olive-dialer"
        assert agentless_variables(snap) == {} and opt_out_key(snap) is None

    def test_a_message_played_is_never_retried_by_default(self) -> None:
        assert retry_rule({}, "MESSAGE").retries is False
        assert retry_rule({"MESSAGE": {"max_attempts": 2, "delay_s": 86400}}, "MESSAGE") == RetryRule(2, 86400)

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({}, "needs message"),
            ({"message": "m", "amd": "hangup"}, "does not run AMD"),
            ({"message": "m", "ivr_agent_key": "9"}, "must differ"),
            ({"message": "m", "ivr_agent_key": "12"}, "ivr_agent_key"),
        ],
    )
    def test_the_spec_refuses_what_cannot_work(self, fields: dict[str, object], error: str) -> None:
        from pydantic import ValidationError

        from olive.specs import PlanSpec

        with pytest.raises(ValidationError, match=error):
            PlanSpec(channel_template="PJSIP/{number}@t", dial_mode="agentless", **fields)  # type: ignore[arg-type]
