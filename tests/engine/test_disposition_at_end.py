"""A disposition the agent saves while the call is up takes effect when the engine ends the call,
whatever dial guard the engine runs with (the web tests run it with AllowAll: the callback an agent
booked during the call was lost to the contact's release whenever the agent saved before hang-up)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy.orm import Session, sessionmaker

from engine.stored import placed_call
from olive.ami import ServerConfig
from olive.compliance import AllowAll, ComplianceGuard, DialGuard, set_disposition
from olive.engine import Engine
from olive.store import Call, Contact, from_epoch, transaction

DUE = 10_000.0


@pytest.mark.parametrize("guard", [AllowAll, ComplianceGuard], ids=["allow-all", "compliance"])
@pytest.mark.parametrize(
    ("code", "status", "next_attempt_at"),
    [("callback", "pending", from_epoch(DUE)), ("sale", "done", None)],
)
async def test_set_during_the_call_it_takes_effect_at_its_end(
    session_factory: sessionmaker[Session],
    db_clean: SAEngine,
    guard: type[DialGuard],
    code: str,
    status: str,
    next_attempt_at: object,
) -> None:
    contact_id = placed_call(session_factory)
    engine = Engine(session_factory, {"default": ServerConfig(port=1)}, guard=guard())
    link = engine.links["default"]
    link.tracker.originate("call_1", action_id="call_1", dial_string="PJSIP/x@t", now=100.0)
    with transaction(session_factory) as s:  # the call is up: it waits for the end
        result = set_disposition(s, "call_1", code, 100.2, callback_at=DUE if code == "callback" else None)
    assert not result.applied
    link.call_changes.extend(link.tracker.originate_refused("call_1", 100.5, "Channel not specified"))
    await engine.tick()  # the call ends: the plan would retry a FAILED call; the disposition decides
    with transaction(session_factory) as s:
        call, contact = s.get(Call, "call_1"), s.get(Contact, contact_id)
        assert call is not None and call.ended_at is not None and call.disposition_applied_at is not None
        assert contact is not None and contact.active_call_id is None
        assert (contact.status, contact.next_attempt_at) == (status, next_attempt_at)
