"""What users may ask for: the same refusals for campaign files and the API."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from olive.specs import AgentSpec, PlanSpec, check_plan_for_profile


class TestPlanSpec:
    def test_defaults_are_legal(self) -> None:
        plan = PlanSpec(channel_template="PJSIP/{number}@trunk")
        assert check_plan_for_profile(plan, "us-tsr") == []

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("dial_timeout_s", 0), ("dial_timeout_s", 301), ("channel_template", "PJSIP/trunk"),
            ("caller_id", "a\r\nAction: Command"), ("context", "bad context"), ("abandon_target", 1.5),
        ],
    )
    def test_refusals_name_the_field(self, field: str, value: object) -> None:
        with pytest.raises(ValidationError) as err:
            PlanSpec(**{"channel_template": "PJSIP/{number}@trunk", field: value})  # type: ignore[arg-type]
        assert err.value.errors()[0]["loc"][0] == field

    def test_drop_message_required_with_message_action(self) -> None:
        with pytest.raises(ValidationError):
            PlanSpec(channel_template="PJSIP/{number}@t", drop_action="message")

    def test_profiles(self) -> None:
        short = PlanSpec(channel_template="PJSIP/{number}@t", dial_timeout_s=10, connect_limit_s=3)
        assert len(check_plan_for_profile(short, "us-tsr")) == 2
        assert check_plan_for_profile(short, "none") == []


class TestAgentSpec:
    @pytest.mark.parametrize("interface", ["PJSIP/101", "Local/101@agents", "SIP/agent-7"])
    def test_interfaces(self, interface: str) -> None:
        assert AgentSpec(name="a", interface=interface).interface == interface

    @pytest.mark.parametrize("interface", ["101", "PJSIP/1\x00", "PJSIP/1\r\n", "PJSIP/a b", "PJSIP/1,2"])
    def test_bad_interfaces(self, interface: str) -> None:
        with pytest.raises(ValidationError):
            AgentSpec(name="a", interface=interface)
