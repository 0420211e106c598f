"""Disposition codes, and setting a call's disposition. Services flush but never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from olive.api._dispositions.schemas import DispositionCodeCreate, DispositionOut, DispositionSet
from olive.api._schemas import validate_merged
from olive.compliance import ensure_codes, set_disposition
from olive.errors import Conflict
from olive.store import DispositionCode, DispositionCodeRepository, NotFound


def list_codes(session: Session) -> list[DispositionCode]:
    ensure_codes(session)
    return DispositionCodeRepository(session).all_codes()


def get_code(session: Session, code: str) -> DispositionCode:
    ensure_codes(session)
    found = session.get(DispositionCode, code)
    if found is None:
        raise NotFound("disposition code", code)
    return found


def create_code(session: Session, body: DispositionCodeCreate) -> DispositionCode:
    ensure_codes(session)
    if session.get(DispositionCode, body.code) is not None:
        raise Conflict(f"disposition code {body.code!r} already exists", field="code")
    row = DispositionCode(**body.model_dump())
    session.add(row)
    session.flush()
    return row


def update_code(session: Session, code: str, changes: dict[str, Any]) -> DispositionCode:
    row = get_code(session, code)
    current = {name: getattr(row, name) for name in DispositionCodeCreate.model_fields}
    merged = validate_merged(DispositionCodeCreate, {**current, **changes})
    for name, value in merged.model_dump(exclude={"code"}).items():
        setattr(row, name, value)
    session.flush()
    return row


def delete_code(session: Session, code: str) -> None:
    row = get_code(session, code)
    used = DispositionCodeRepository(session).times_used(code)
    if used:
        raise Conflict(f"{used} call(s) have disposition {code!r}; it is kept for their records", field="code")
    session.delete(row)
    session.flush()


def set_call_disposition(session: Session, call_id: str, body: DispositionSet, now: float) -> DispositionOut:
    result = set_disposition(
        session,
        call_id,
        body.code,
        now,
        by=body.by,
        note=body.note,
        callback_at=None if body.callback_at is None else body.callback_at.timestamp(),
        callback_agent_id=body.callback_agent_id,
    )
    return DispositionOut(
        call_id=result.call_id,
        code=result.code,
        applied=result.applied,
        callback_id=result.callback_id,
        dnc_added=result.dnc_added,
    )


__all__ = ["create_code", "delete_code", "get_code", "list_codes", "set_call_disposition", "update_code"]
