"""A tick whose transaction fails loses nothing: the changes wait for the next tick."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from engine.stored import placed_call
from olive.ami import ServerConfig
from olive.calls import CallChange, CallState
from olive.compliance import AllowAll
from olive.engine import Engine
from olive.store import (
    Call,
    Contact,
    transaction,
)


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


async def test_a_failed_commit_keeps_the_changes(session_factory: sessionmaker[Session], db_clean: SAEngine) -> None:
    contact_id = placed_call(session_factory)
    engine = Engine(session_factory, {"default": ServerConfig(port=1)}, guard=AllowAll())
    link = engine.links["default"]
    link.tracker.originate("call_1", action_id="call_1", dial_string="PJSIP/x@t", now=100.0)
    link.call_changes.extend(link.tracker.originate_refused("call_1", 100.5, "Channel not specified"))

    boom_state: list[int] = []

    def boom(conn: object) -> None:
        if not boom_state:
            boom_state.append(1)
            raise RuntimeError("database went away")

    event.listen(db_clean, "commit", boom)
    try:
        with pytest.raises(RuntimeError):
            await engine.tick()
        assert len(link.call_changes) == 1, "the change waits for the next tick"
        assert len(engine.bus.recent) == 0, "nothing was announced for a change not stored"
        await engine.tick()
    finally:
        event.remove(db_clean, "commit", boom)
    with transaction(session_factory) as s:
        call = s.get(Call, "call_1")
        contact = s.get(Contact, contact_id)
        assert call is not None and call.outcome == "FAILED" and call.ended_at is not None
        assert contact is not None and contact.active_call_id is None
    assert [e.kind for e in engine.bus.recent] == ["call"]


async def test_only_changes_of_state_are_announced(session_factory: sessionmaker[Session], db_clean: SAEngine) -> None:
    """issue 13: the event stream repeated `"state":"ringing","previous":"ringing"` for every
    AMI event of a ringing call; the runner still hears each change, the stream only new states."""
    placed_call(session_factory)
    engine = Engine(session_factory, {"default": ServerConfig(port=1)}, guard=AllowAll())
    link = engine.links["default"]
    record = link.tracker.originate("call_1", action_id="call_1", dial_string="PJSIP/x@t", now=100.0)
    ringing = replace(record, state=CallState.RINGING)
    link.call_changes.extend(
        [
            CallChange(ringing, CallState.ORIGINATING),
            CallChange(replace(ringing, channel="PJSIP/trunk-00000001"), CallState.RINGING),
            CallChange(replace(ringing, channel="PJSIP/trunk-00000001"), CallState.RINGING),
        ]
    )
    await engine.tick()
    calls = [(e.data["previous"], e.data["state"]) for e in engine.bus.recent if e.kind == "call"]
    assert calls == [("originating", "ringing")]


async def test_each_loop_tick_is_reported_with_its_result(session_factory: sessionmaker[Session], db_clean: SAEngine) -> None:
    """The metrics hook hears every tick of the loop, failed ones included (olive_engine_ticks_total)."""
    import asyncio

    engine = Engine(session_factory, {}, guard=AllowAll(), tick_s=0.01)
    seen: list[tuple[float, bool]] = []
    engine.on_tick = lambda seconds, failed: seen.append((seconds, failed))
    real, calls = engine.tick, 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("database went away")
        await real()

    engine.tick = flaky  # type: ignore[method-assign]
    await engine.start()
    try:
        for _ in range(500):
            if len(seen) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await engine.stop()
    assert [failed for _, failed in seen[:3]] == [False, True, False]
    assert all(seconds >= 0 for seconds, _ in seen)
