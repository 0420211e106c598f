"""What happens to a contact after an attempt: pure, from the plan's retry rules.

A plan has one rule per outcome: at most ``max_attempts`` attempts of a
number may end with that outcome (0: never try that number again after it),
and the next try waits ``delay_s``. A contact's numbers are tried in order;
after an attempt the next *live* number is tried once the delay has passed,
wrapping round to the first. A contact is done once connected and exhausted
once no number is left alive. Calls Asterisk refused for a passing reason
(``NOT_PLACED``) are not attempts (:func:`counts_as_attempt`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from olive import calls
from olive.store import counts_as_attempt, retry_rule

#: The final outcomes' names (olive.calls): the contact is done.
FINAL_OUTCOMES: frozenset[str] = frozenset(o.value for o in calls.FINAL_OUTCOMES)


@dataclass(frozen=True, slots=True)
class NumberHistory:
    """How the attempts on one of a contact's numbers ended, counted per outcome."""

    position: int
    outcomes: Mapping[str, int] = field(default_factory=dict)

    def alive(self, rules: Mapping[str, Any] | None) -> bool:
        return all(n < retry_rule(rules, outcome).max_attempts for outcome, n in self.outcomes.items() if n > 0)


@dataclass(frozen=True, slots=True)
class NextStep:
    status: str  # "pending", "done" or "exhausted"
    next_attempt_at: float | None
    next_number_index: int
    reason: str


def after_attempt(
    numbers: Sequence[NumberHistory],
    tried_index: int,
    outcome: str,
    rules: Mapping[str, Any] | None,
    now: float,
) -> NextStep:
    """The contact's next step; ``numbers`` already count the attempt that just ended."""
    if outcome in FINAL_OUTCOMES:
        return NextStep("done", None, tried_index, f"{outcome}: done")
    rule = retry_rule(rules, outcome)
    count = len(numbers)
    for step in range(1, count + 1):
        index = (tried_index + step) % count
        if numbers[index].alive(rules):
            return NextStep(
                "pending",
                now + rule.delay_s,
                index,
                f"{outcome}: number {index + 1} of {count} in {rule.delay_s} s",
            )
    return NextStep("exhausted", None, tried_index, f"{outcome}: no number left to try")


__all__ = ["FINAL_OUTCOMES", "NextStep", "NumberHistory", "after_attempt", "counts_as_attempt"]
