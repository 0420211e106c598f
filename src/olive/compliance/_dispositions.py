"""Dispositions and callbacks: what an agent says about a call, and what follows from it.

An agent sets a disposition on a call (:func:`set_disposition`), during it
or after it. Its code's flags decide what happens to the contact, strongest
first:

* ``add_to_dnc``: the number joins the global do-not-call list at once, and
  the contact stops (status ``dnc``; its scheduled callbacks are cancelled);
* ``callback``: a callback is scheduled for the time given, owned by an agent
  or open to anyone; the contact waits for it;
* ``final``: the contact is done;
* ``retry``: the contact is tried again, on its next number, after the
  code's ``retry_delay_s``;
* none of them: the plan's retry rules for the call's outcome stand.

The contact is only changed once the call has ended (the engine's own end
of call would overwrite it otherwise): :func:`apply_disposition` runs when
the disposition is set on an ended call, and when the engine ends a call
that has one. A conditional UPDATE makes sure it takes effect exactly once,
whichever comes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from olive.errors import Conflict, Invalid
from olive.store import (
    Agent,
    Call,
    Callback,
    CallbackRepository,
    CallRepository,
    Contact,
    ContactNumber,
    ContactRepository,
    DispositionCode,
    DispositionCodeRepository,
    DncRepository,
    NotFound,
    from_epoch,
)


class DispositionError(Invalid):
    """A disposition that cannot be set (422); ``field`` names the bad input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


@dataclass(frozen=True, slots=True)
class DispositionResult:
    call_id: str
    code: str
    applied: bool  # False while the call is still up: it applies when the call ends
    callback_id: str | None = None
    dnc_added: bool = False


def ensure_codes(session: Session) -> None:
    """Seed the default codes into an empty table (a fresh database has none)."""
    repo = DispositionCodeRepository(session)
    if not repo.count_codes():
        repo.seed_defaults()


def set_disposition(
    session: Session,
    call_id: str,
    code: str,
    now: float,
    *,
    by: str | None = None,
    note: str | None = None,
    callback_at: float | None = None,
    callback_agent_id: str | None = None,
) -> DispositionResult:
    ensure_codes(session)
    call = session.get(Call, call_id, with_for_update=True)  # serialises with the engine ending the call
    if call is None:
        raise NotFound("call", call_id)
    disposition = session.get(DispositionCode, code)
    if disposition is None:
        known = ", ".join(c.code for c in DispositionCodeRepository(session).all_codes())
        raise DispositionError("code", f"unknown disposition code {code!r} (known: {known})")
    if call.disposition_applied_at is not None:
        raise Conflict(f"call {call_id} already has disposition {call.disposition!r}, and it has taken effect", field="code")
    if disposition.callback and callback_at is None:
        raise DispositionError("callback_at", f"disposition {code!r} schedules a callback: give its time")
    if not disposition.callback and (callback_at is not None or callback_agent_id is not None):
        raise DispositionError("callback_at", f"disposition {code!r} does not schedule a callback")
    if callback_agent_id is not None and session.get(Agent, callback_agent_id) is None:
        raise DispositionError("callback_agent_id", f"no agent {callback_agent_id!r}")
    if call.contact_id is None and disposition.callback:
        raise DispositionError("code", "the call's contact no longer exists: no callback can be scheduled")
    call.disposition, call.disposition_note = code, note
    call.disposition_at, call.disposition_by = from_epoch(now), by
    for old in _callbacks_from(session, call.id):
        old.status = "cancelled"  # a disposition set again replaces the callback it asked for
    callback_id = None
    if disposition.callback and callback_at is not None and call.contact_id is not None:
        callback = schedule_callback(
            session, call.contact_id, call.campaign_id, callback_at, agent_id=callback_agent_id, note=note, source_call_id=call.id
        )
        callback_id = callback.id
    dnc_added = False
    if disposition.add_to_dnc:
        dnc = DncRepository(session)
        dnc_added = dnc.match(call.number, None) is None
        dnc.add_number(call.number, source=f"disposition {code}" + (f" by {by}" if by else ""), note=note)
    session.flush()
    applied = apply_disposition(session, call.id, now)
    return DispositionResult(call.id, code, applied, callback_id, dnc_added)


def schedule_callback(
    session: Session,
    contact_id: str,
    campaign_id: str,
    due_at: float,
    *,
    agent_id: str | None = None,
    note: str | None = None,
    source_call_id: str | None = None,
) -> Callback:
    """A callback to the contact at ``due_at`` (owned by ``agent_id``, or open). The contact waits for it."""
    callback = Callback(
        contact_id=contact_id,
        campaign_id=campaign_id,
        due_at=from_epoch(due_at),
        agent_id=agent_id,
        note=note,
        source_call_id=source_call_id,
        status="scheduled",
    )
    session.add(callback)
    contact = session.get(Contact, contact_id)
    if contact is not None and contact.active_call_id is None and contact.status in ("pending", "done", "exhausted"):
        contact.status, contact.next_attempt_at = "pending", from_epoch(due_at)
    session.flush()
    return callback


def apply_disposition(session: Session, call_id: str, now: float) -> bool:
    """Make the call's disposition take effect on its contact, once the call has ended. True if it did now."""
    won = CallRepository(session).claim_disposition(call_id, now)
    if won is None:
        return False
    _take_effect(session, call_id, won, now)
    return True


def apply_dispositions(session: Session, call_ids: Sequence[str], now: float) -> list[str]:
    """:func:`apply_disposition` for a tick's ended calls: one statement finds and claims those
    with a disposition (most have none), then each takes effect. Returns their ids."""
    won = CallRepository(session).claim_dispositions(call_ids, now)
    for call_id in sorted(won):
        _take_effect(session, call_id, won[call_id], now)
    return sorted(won)


def _take_effect(session: Session, call_id: str, won: tuple[str, str | None, str | None], now: float) -> None:
    code_name, contact_id, number_id = won
    code = session.get(DispositionCode, code_name)
    contact = session.get(Contact, contact_id) if contact_id else None
    if code is None or contact is None or contact.active_call_id not in (None, call_id):
        return  # nothing to change (or another call holds the contact: its end decides)
    if code.add_to_dnc:
        contact.status, contact.next_attempt_at = "dnc", None
        for callback in _scheduled_callbacks(session, contact.id):
            callback.status = "cancelled"
    elif code.callback:
        asked = next(iter(_callbacks_from(session, call_id)), None)
        if asked is not None:
            contact.status, contact.next_attempt_at = "pending", asked.due_at
            contact.next_number_index = _index_of(session, contact.id, number_id, contact.next_number_index)
    elif code.final:
        contact.status, contact.next_attempt_at = "done", None
    elif code.retry:
        count = len(_numbers(session, contact.id)) or 1
        tried = _index_of(session, contact.id, number_id, contact.next_number_index)
        contact.status = "pending"
        contact.next_attempt_at = from_epoch(now + code.retry_delay_s)
        contact.next_number_index = (tried + 1) % count
    session.flush()


def cancel_callback(session: Session, callback_id: str) -> Callback:
    callback = session.get(Callback, callback_id)
    if callback is None:
        raise NotFound("callback", callback_id)
    if callback.status != "scheduled":
        raise Conflict(f"callback {callback_id} is {callback.status}", field="status")
    callback.status = "cancelled"
    session.flush()
    return callback


def _callbacks_from(session: Session, call_id: str) -> list[Callback]:
    return CallbackRepository(session).scheduled(source_call_id=call_id)


def _scheduled_callbacks(session: Session, contact_id: str) -> list[Callback]:
    return CallbackRepository(session).scheduled(contact_id=contact_id)


def _numbers(session: Session, contact_id: str) -> list[ContactNumber]:
    return ContactRepository(session).numbers(contact_id)


def _index_of(session: Session, contact_id: str, number_id: str | None, default: int) -> int:
    for index, number in enumerate(_numbers(session, contact_id)):
        if number.id == number_id:
            return index
    return default


__all__ = [
    "DispositionError",
    "DispositionResult",
    "apply_disposition",
    "apply_dispositions",
    "cancel_callback",
    "ensure_codes",
    "schedule_callback",
    "set_disposition",
]
