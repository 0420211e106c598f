from __future__ import annotations

from olive.compliance import NumberHistory, after_attempt
from olive.engine import dial_string

RULES = {
    "BUSY": {"max_attempts": 2, "delay_s": 300},
    "NO_ANSWER": {"max_attempts": 3, "delay_s": 3600},
    "INVALID_NUMBER": {"max_attempts": 0, "delay_s": 0},
}


class TestAfterAttempt:
    def test_connected_is_done(self) -> None:
        step = after_attempt([NumberHistory(0, {"CONNECTED": 1})], 0, "CONNECTED", RULES, 100.0)
        assert (step.status, step.next_attempt_at) == ("done", None)

    def test_busy_retries_same_number_after_delay(self) -> None:
        step = after_attempt([NumberHistory(0, {"BUSY": 1})], 0, "BUSY", RULES, 100.0)
        assert (step.status, step.next_attempt_at, step.next_number_index) == ("pending", 400.0, 0)

    def test_next_number_is_tried_next(self) -> None:
        numbers = [NumberHistory(0, {"NO_ANSWER": 1}), NumberHistory(1, {})]
        step = after_attempt(numbers, 0, "NO_ANSWER", RULES, 0.0)
        assert (step.status, step.next_number_index, step.next_attempt_at) == ("pending", 1, 3600.0)

    def test_wraps_round_to_the_first_number(self) -> None:
        numbers = [NumberHistory(0, {"NO_ANSWER": 1}), NumberHistory(1, {"NO_ANSWER": 1})]
        assert after_attempt(numbers, 1, "NO_ANSWER", RULES, 0.0).next_number_index == 0

    def test_rule_exhausts_a_number(self) -> None:
        numbers = [NumberHistory(0, {"BUSY": 2}), NumberHistory(1, {"NO_ANSWER": 1})]
        step = after_attempt(numbers, 0, "BUSY", RULES, 0.0)
        assert (step.status, step.next_number_index) == ("pending", 1)

    def test_invalid_number_is_never_dialed_again(self) -> None:
        step = after_attempt([NumberHistory(0, {"INVALID_NUMBER": 1})], 0, "INVALID_NUMBER", RULES, 0.0)
        assert step.status == "exhausted"

    def test_every_number_dead_is_exhausted(self) -> None:
        numbers = [NumberHistory(0, {"BUSY": 2}), NumberHistory(1, {"INVALID_NUMBER": 1})]
        assert after_attempt(numbers, 0, "BUSY", RULES, 0.0).status == "exhausted"

    def test_outcome_without_rule_uses_the_default(self) -> None:
        step = after_attempt([NumberHistory(0, {"CONGESTION": 1})], 0, "CONGESTION", {}, 0.0)
        assert step.status == "pending" and step.next_attempt_at == 120.0


class TestDialString:
    def test_number_and_digits(self) -> None:
        assert dial_string("PJSIP/{number}@trunk", "+15551230000") == "PJSIP/+15551230000@trunk"
        assert dial_string("Local/{digits}@out", "+15551230000") == "Local/15551230000@out"
