"""Agentless campaigns' opt-out: the plan's opt-out key puts the number on the campaign's
do-not-call list in the very transaction that records the call's end.

So the number is on the list before any further dial: the contact stops (status ``dnc``)
and the dial guard, which checks the list right before each dial, refuses the number in
any other contact of the campaign too.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from olive.calls import CallRecord
from olive.compliance import DncEntry, NextStep, import_dnc
from olive.store import Call, opt_out_key

OPT_OUT_SOURCE = "opt-out key"


def opted_out(session: Session, call: Call, rec: CallRecord) -> bool:
    """If the person pressed the plan's opt-out key, add the number to the campaign's
    do-not-call list (kept as it is if already there) and say so."""
    key = opt_out_key(call.plan_snapshot or {})
    if key is None or rec.ivr_key != key:
        return False
    note = f"pressed {key} on call {call.id}"
    import_dnc(session, [DncEntry(0, call.number, note)], campaign_id=call.campaign_id, source=OPT_OUT_SOURCE)
    return True


def opt_out_step(step: NextStep, key: str | None) -> NextStep:
    """The contact's next step once its number opted out: none."""
    return replace(step, status="dnc", next_attempt_at=None, reason=f"opted out: pressed {key}")


__all__ = ["OPT_OUT_SOURCE", "opt_out_step", "opted_out"]
