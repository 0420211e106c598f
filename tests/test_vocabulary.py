"""One vocabulary: outcomes, call states and agent states are named once, on the domain's
enums in olive.calls, and everything that spells them out says the same.

The store's CHECK constraints and the CLI derive from the enums; the API's Literal types
and the migrations (which must keep meaning what they meant, so import nothing of the
models) spell them out, and this test holds them to the enums. Like
tests/calls/test_diagram.py for the call-state picture.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from sqlalchemy import inspect

from olive import calls, compliance, store
from olive.api._agents.schemas import State as ApiAgentState
from olive.api._calls.schemas import CallState as ApiCallState
from olive.api._calls.schemas import Outcome as ApiOutcome
from olive.calls import AbandonReason, AgentState, CallState, Outcome
from olive.cli._live import OUTCOME_ORDER, STATE_STYLE
from olive.metrics._collector import AGENT_STATES as METRIC_AGENT_STATES

OUTCOMES = tuple(o.value for o in Outcome)
CALL_STATES = tuple(s.value for s in CallState)
AGENT_STATES = tuple(s.value for s in AgentState)
ABANDON_REASONS = tuple(r.value for r in AbandonReason)


class TestDomain:
    def test_live_answers_are_the_people_who_answered(self) -> None:
        # The denominator of the legal abandon rate: a MACHINE is not a live answer.
        assert {Outcome.CONNECTED, Outcome.ABANDONED} == calls.LIVE_ANSWERS

    def test_final_outcomes_end_the_contact(self) -> None:
        assert {Outcome.CONNECTED} == calls.FINAL_OUTCOMES
        assert {o.value for o in calls.FINAL_OUTCOMES} == compliance.FINAL_OUTCOMES

    def test_every_outcome_that_is_not_final_has_a_retry_rule(self) -> None:
        assert set(calls.RETRY_OUTCOMES) == {o.value for o in Outcome if not o.final} | {calls.UNKNOWN_OUTCOME}
        assert store.RETRY_OUTCOMES == calls.RETRY_OUTCOMES
        assert set(calls.DEFAULT_RETRY) == set(calls.RETRY_OUTCOMES)
        assert set(store.DEFAULT_RETRY_RULES) == set(calls.RETRY_OUTCOMES)

    @pytest.mark.parametrize("outcome", list(Outcome), ids=lambda o: o.value)
    def test_the_retry_rule_agrees_with_final(self, outcome: Outcome) -> None:
        generous = {o: {"max_attempts": 9, "delay_s": 1} for o in calls.RETRY_OUTCOMES}
        generous[outcome.value] = {"max_attempts": 9, "delay_s": 1}
        assert store.retry_rule(generous, outcome.value).retries is not outcome.final
        step = compliance.after_attempt([compliance.NumberHistory(0, {outcome.value: 1})], 0, outcome.value, generous, 0.0)
        assert (step.status == "done") is outcome.final


class TestStore:
    def test_the_models_take_the_domains_values(self) -> None:
        assert store.OUTCOMES == OUTCOMES
        assert store.CALL_STATES == CALL_STATES
        assert store.AGENT_STATES == AGENT_STATES
        assert store.ABANDON_REASONS == ABANDON_REASONS

    def test_the_migrated_database_allows_exactly_the_domains_values(self, tmp_path: Path) -> None:
        engine = store.make_engine(f"sqlite:///{tmp_path / 'vocab.db'}")
        try:
            store.migrate(engine)
            with engine.connect() as conn:
                insp = inspect(conn)
                checks = {
                    (table, c["name"]): c["sqltext"]
                    for table in ("calls", "agents")
                    for c in insp.get_check_constraints(table)
                }
        finally:
            engine.dispose()

        def allowed(table: str, name: str) -> set[str]:
            return set(re.findall(r"'([^']*)'", str(checks[(table, name)])))

        assert allowed("calls", "ck_calls_outcome") == set(OUTCOMES)
        assert allowed("calls", "ck_calls_state") == set(CALL_STATES)
        assert allowed("calls", "ck_calls_abandon_reason") == set(ABANDON_REASONS)
        assert allowed("agents", "ck_agents_state") == set(AGENT_STATES)


class TestEdges:
    def test_the_api_schemas_name_the_same_values(self) -> None:
        assert ApiOutcome is Outcome
        assert ApiCallState is CallState
        assert typing.get_args(ApiAgentState) == AGENT_STATES

    def test_the_cli_and_the_metrics_show_every_value(self) -> None:
        assert OUTCOME_ORDER == OUTCOMES
        assert set(STATE_STYLE) == set(AGENT_STATES)
        assert set(METRIC_AGENT_STATES) == set(AGENT_STATES)
