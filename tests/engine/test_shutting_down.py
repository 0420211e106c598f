"""Asterisk shutting down (``core restart now``, transcript 22): for about a second it
refuses every action with "Asterisk is shutting down" before it sends Shutdown and
closes. An Originate refused so placed no call: it must not cost its contact an
attempt, and olive must place no more calls until Asterisk is back."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.engine.test_bad_events import ManualClock

from engine.stored import placed_call
from olive import ami
from olive.ami import ServerConfig
from olive.compliance import AllowAll
from olive.engine import Engine, LinkState
from olive.engine._link import SHUTTING_DOWN
from olive.engine._persist import DialIntent
from olive.store import Call, Contact, ContactNumber, to_epoch, transaction

T0 = 1_790_000_000.0


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


def _refusing(message: str) -> object:
    async def send_action(action: ami.Action, **kwargs: object) -> ami.Response:
        raise ami.AMIActionError(action.name, ami.Response((("Response", "Error"), ("Message", message))))

    return send_action


async def _refused_originate(sessions: sessionmaker[Session], message: str) -> tuple[Engine, str]:
    contact_id = placed_call(sessions, "call_1", T0)
    clock = ManualClock(T0)
    engine = Engine(sessions, {"default": ServerConfig(port=1)}, guard=AllowAll(), clock=clock)
    link = engine.links["default"]
    link.state = LinkState.READY
    link.tracker.originate("call_1", action_id="call_1", dial_string="PJSIP/x@t", now=T0)
    link.client.send_action = _refusing(message)  # type: ignore[method-assign]
    with transaction(sessions) as s:
        number = s.query(ContactNumber).filter(ContactNumber.contact_id == contact_id).one()
        intent = DialIntent("call_1", "c", contact_id, number.id, number.number, 1, "default", "PJSIP/x@t")
    await engine._originate(link, intent, {"dial_timeout_s": 30, "context": "olive-dialer"})
    clock.t += 0.5
    await engine._persist_only()
    return engine, contact_id


async def test_an_originate_refused_while_asterisk_shuts_down_costs_no_attempt(
    session_factory: sessionmaker[Session],
) -> None:
    engine, contact_id = await _refused_originate(session_factory, SHUTTING_DOWN)
    assert engine.links["default"].state is LinkState.SHUTTING_DOWN, "no more calls until Asterisk is back"
    with transaction(session_factory) as s:
        call = s.get(Call, "call_1")
        contact = s.get(Contact, contact_id)
        number = s.query(ContactNumber).filter(ContactNumber.contact_id == contact_id).one()
        assert call is not None and contact is not None
        assert call.outcome == "FAILED" and "Asterisk is shutting down" in (call.detail or "")  # one record per Originate
        assert (contact.attempts, number.attempts) == (0, 0)
        assert contact.status == "pending" and contact.active_call_id is None
        assert contact.next_attempt_at is not None and to_epoch(contact.next_attempt_at) <= T0 + 0.5


async def test_another_refusal_still_costs_an_attempt(session_factory: sessionmaker[Session]) -> None:
    """A refusal that says something about the call (here: the dialplan lacks the context) counts."""
    engine, contact_id = await _refused_originate(session_factory, "Extension does not exist.")
    assert engine.links["default"].state is LinkState.READY
    with transaction(session_factory) as s:
        contact = s.get(Contact, contact_id)
        assert contact is not None and contact.attempts == 1


async def test_a_shutdown_that_is_aborted_lets_olive_dial_again(session_factory: sessionmaker[Session]) -> None:
    """``core abort shutdown``: still connected, Asterisk answers again; olive re-reads it and dials."""
    clock = ManualClock(T0)
    engine = Engine(session_factory, {"default": ServerConfig(port=1)}, guard=AllowAll(), clock=clock)
    link = engine.links["default"]
    link.state = LinkState.READY
    link._on_event(ami.Event((("Event", "SoftHangupRequest"), ("Channel", "Local/1@x-00000001;1"),
                              ("Uniqueid", "u1"), ("Linkedid", "u1"), ("Cause", "4"))))
    assert link.state is LinkState.SHUTTING_DOWN
    assert not link.shutdown_probe_due(T0 + 1)
    assert link.shutdown_probe_due(T0 + 5)
    reconciled: list[bool] = []

    async def ping(action: ami.Action, **kwargs: object) -> ami.Response:
        return ami.Response((("Response", "Success"), ("Ping", "Pong")))

    async def reconcile() -> None:
        reconciled.append(True)

    link.client.send_action = ping  # type: ignore[method-assign]
    link._reconcile = reconcile  # type: ignore[method-assign]
    await link.probe_shutdown()
    assert reconciled == [True]
