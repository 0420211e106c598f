"""Turning a pacer's "dial N" into claimed contacts and written call rows.

Runs inside the tick's transaction: for each due contact (callbacks first)
the dial guard decides right before the claim, so a do-not-call entry or a
calling window that closed a moment ago still stops the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from olive.compliance import DialGuard, DialObserver, DialPreparer, DialRecorder, Verdict
from olive.engine._callbacks import ELSEWHERE, OwnerRoute, OwnerRoutes
from olive.engine._due import dial_note, rows_to_dial
from olive.engine._persist import DialIntent, write_ahead_all
from olive.ids import new_id
from olive.store import (
    Campaign,
    DialContact,
    DialNumber,
    DueContact,
    PutOff,
    agentless_variables,
    amd_variables,
    connect_limit,
    contacts_with_due_callbacks,
    from_epoch,
    put_off_contacts,
)

Dial = tuple[str, DialIntent, dict[str, Any]]  # (server, intent, plan snapshot)


def dial_string(template: str, e164: str) -> str:
    """Fill a plan's channel template: {number} (+E.164), {digits} (no +)."""
    return template.replace("{number}", e164).replace("{digits}", e164.lstrip("+"))


def place_dials(
    guard: DialGuard,
    session: Session,
    campaign: Campaign,
    wanted: int,
    reason: str,
    now: float,
    routes: OwnerRoutes | None = None,
) -> tuple[list[Dial], str]:
    """Claim up to ``wanted`` due contacts of ``campaign`` and write their call rows.
    Returns the dials and the campaign's status note. With ``routes``, a due callback
    whose owner is ready goes to that owner alone (engine/_callbacks.py)."""
    server = campaign.server
    plan = campaign.plan.snapshot()
    out: list[Dial] = []
    refused: list[Verdict] = []
    chosen: list[tuple[DueContact, DialIntent, OwnerRoute | None]] = []
    put_off: list[PutOff] = []
    owners: dict[str, OwnerRoute] = {}  # agent id -> the owned callback routed to them this tick
    lists = [d.id for d in campaign.dial_lists]  # as last read (the engine re-reads them every second)
    candidates = rows_to_dial(session, campaign.id, now, wanted * 2 + 5, list_ids=lists)
    if isinstance(guard, DialPreparer) and candidates:
        guard.prepare(session, campaign, candidates, now)
    # Only a contact with a due callback may be routed to its owner: one query for all of them.
    due = contacts_with_due_callbacks(session, campaign.id, [c.id for c in candidates], now) if routes is not None else set()
    for contact in candidates:
        if len(chosen) >= wanted:
            break
        number = contact.to_dial
        if number is None:
            continue
        route = routes.route(session, campaign, contact, plan, now) if routes is not None and contact.id in due else None
        if route is ELSEWHERE:
            continue  # its owner's server's unit dials it
        owner = route if isinstance(route, OwnerRoute) else None
        if owner is not None and owner.agent_id in owners:
            continue  # one callback at a time for an owner: the next waits for a later tick
        # A callback whose owner is away or busy is held back like a guard's refusal.
        verdict = route if isinstance(route, Verdict) else guard.check(session, campaign, contact, number, now)
        if not verdict.allowed:
            refused.append(verdict)
            put_off.append(
                PutOff(
                    contact.id,
                    verdict.status or None,
                    None if verdict.retry_at is None else from_epoch(verdict.retry_at),
                )
            )
            continue
        if owner is not None:
            owners[owner.agent_id] = owner
        chosen.append((contact, build_intent(campaign, contact, number, plan, server, owner), owner))
    # The guard's records (a DNC check per contact) are written once they know their call:
    # one INSERT with the call ids, not an INSERT and an UPDATE per row.
    with session.no_autoflush:
        put_off_contacts(session, put_off)  # the refusals, in one statement per kind
        # All of the tick's claims and call rows for this campaign in a few statements.
        written = write_ahead_all(session, [(intent, plan) for _, intent, _ in chosen], now)
        for contact, intent, owner in chosen:
            if intent.call_id in written:
                if owner is not None and routes is not None:
                    routes.reserve(session, intent.call_id, owner, server, now)
                out.append((server, intent, plan))
                if isinstance(guard, DialObserver):
                    guard.dialed(session, campaign, contact, intent.call_id, now)
        if isinstance(guard, DialRecorder):  # the DNC checks, each with its call, in one INSERT
            guard.write_records(session)
    return out, dial_note(session, campaign.id, reason, len(out), bool(candidates), refused)


def connect_limit_s(plan: Mapping[str, Any]) -> float:
    """The plan's connect limit in seconds, which the dialplan keeps to the millisecond."""
    return float(plan.get("connect_limit_s", 2.0))


def build_intent(
    campaign: Campaign,
    contact: DialContact,
    number: DialNumber,
    plan: Mapping[str, Any],
    server: str,
    owner: OwnerRoute | None = None,
) -> DialIntent:
    call_id = new_id("call")
    variables = {
        "OLIVE_CALL_ID": call_id,
        "OLIVE_CAMPAIGN": campaign.id,
        "OLIVE_CONTACT": contact.id,
        "OLIVE_QUEUE": campaign.queue,
        "OLIVE_CONNECT_LIMIT": connect_limit(connect_limit_s(plan)),
        "OLIVE_DROP_MESSAGE": (plan.get("drop_message") or "") if plan.get("drop_action") == "message" else "",
    }
    variables.update(amd_variables(plan))  # [olive-amd]'s settings, when the plan runs AMD
    variables.update(agentless_variables(plan))  # [olive-broadcast]'s, when the plan is agentless
    if owner is not None:  # an owned callback: its owner's queue and penalty
        variables.update(owner.variables())
    for name, value in (contact.variables or {}).items():
        variables[f"OLIVE_VAR_{name.upper()}"] = str(value)
    return DialIntent(
        call_id=call_id,
        campaign_id=campaign.id,
        contact_id=contact.id,
        contact_number_id=number.id,
        number=number.number,
        attempt=contact.attempts + 1,
        server=server,
        dial_string=dial_string(str(plan["channel_template"]), number.number),
        variables=variables,
    )


__all__ = ["Dial", "build_intent", "connect_limit_s", "dial_string", "place_dials"]
