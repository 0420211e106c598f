"""The closed vocabularies stored as text, each enforced by a CHECK constraint.

Those of calls and agents are the domain's enums' values (olive.calls): an outcome or
state is named there once; the migrations spell them out, and tests/test_vocabulary.py
checks that the migrated database allows exactly these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from olive.calls import AbandonReason, AgentState, CallState, Outcome

DIAL_MODES: Final = ("progressive", "power", "predictive", "preview", "agentless")
DROP_ACTIONS: Final = ("hangup", "message")
AMD_ACTIONS: Final = ("off", "hangup", "message", "agent")  # what a plan does with a MACHINE
AMD_NOTSURE: Final = ("agent", "machine")  # what a plan takes a NOTSURE verdict for
CAMPAIGN_STATUSES: Final = ("stopped", "running", "paused", "finished")
COMPLIANCE_PROFILES: Final = ("us-tsr", "uk-ofcom", "none")
CONTACT_STATUSES: Final = ("pending", "dialing", "done", "exhausted", "dnc")
AGENT_STATES: Final = tuple(s.value for s in AgentState)
CALL_STATES: Final = tuple(s.value for s in CallState)
OUTCOMES: Final = tuple(o.value for o in Outcome)
ABANDON_REASONS: Final = tuple(r.value for r in AbandonReason)
API_KEY_ROLES: Final = ("admin", "viewer")
DNC_RESULTS: Final = ("clear", "blocked")
CALLBACK_STATUSES: Final = ("scheduled", "done", "cancelled")


def one_of(column: str, values: Iterable[str]) -> str:
    """SQL text for ``column IN (...)``, for a CHECK constraint."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


__all__ = [
    "ABANDON_REASONS",
    "AGENT_STATES",
    "AMD_ACTIONS",
    "AMD_NOTSURE",
    "API_KEY_ROLES",
    "CALLBACK_STATUSES",
    "CALL_STATES",
    "CAMPAIGN_STATUSES",
    "COMPLIANCE_PROFILES",
    "CONTACT_STATUSES",
    "DIAL_MODES",
    "DNC_RESULTS",
    "DROP_ACTIONS",
    "OUTCOMES",
    "one_of",
]
