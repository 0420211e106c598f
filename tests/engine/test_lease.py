"""One database, one dialing node (issue 10, item 6): the engine's side of the lease.

Reported: two ``olive serve`` on one database both paced for the same agents
and the abandon rate reached 8.3 %. Now the second refuses to start; a dead
node's successor takes over after the lease expires; a node that cannot
renew stops dialing before its lease expires (fencing).
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from olive.engine import DialingLease, Engine, EngineState, LeaseHeld
from olive.store import LeaseRepository

T0 = 1_790_000_000.0
TTL = 15.0


class Wall:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _lease(sessions: sessionmaker[Session], node: str, wall: Wall) -> DialingLease:
    return DialingLease(sessions, node, ttl_s=TTL, wall=wall)


def test_a_second_node_is_refused_while_the_first_renews(session_factory: sessionmaker[Session]) -> None:
    wall = Wall()
    a, b = _lease(session_factory, "a", wall), _lease(session_factory, "b", wall)
    assert a.acquire()
    for _ in range(20):  # a minute and more of renewals
        wall.t += a.renew_every_s
        assert a.tick()
        assert not b.acquire()
    assert b.note is not None and "node a holds the dialing lease" in b.note


def test_fenced_a_node_that_cannot_renew_stops_before_its_successor_starts(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = Wall()
    a, b = _lease(session_factory, "a", wall), _lease(session_factory, "b", wall)
    assert a.acquire()
    wall.t += a.renew_every_s
    assert a.tick()  # renewed at T0 + 5: the lease runs to T0 + 20

    def unreachable(*args: object, **kwargs: object) -> object:
        raise OSError("database unreachable")

    b_may: list[float] = []
    a_may: list[float] = []
    for step in range(1, 400):
        wall.t = T0 + 5 + step * 0.1
        with monkeypatch.context() as m:
            m.setattr(LeaseRepository, "acquire", unreachable)  # a's database link is down
            if a.tick():
                a_may.append(wall.t)
        if b.tick():
            b_may.append(wall.t)
    assert a_may and max(a_may) < T0 + 5 + TTL - TTL / 3 + 0.01, "a stops a third of the lease early"
    assert b_may and min(b_may) >= T0 + 5 + TTL, "b takes over only once a's lease expired"
    assert max(a_may) < min(b_may)
    assert a.note is not None and "could not be renewed" in a.note


def test_a_node_whose_lease_was_taken_stops_dialing(session_factory: sessionmaker[Session]) -> None:
    wall = Wall()
    a, b = _lease(session_factory, "a", wall), _lease(session_factory, "b", wall)
    assert a.acquire()
    wall.t += TTL + 1  # a was frozen (a long GC, a suspended VM): no renewals
    assert b.acquire()
    assert not a.tick()
    assert a.note is not None and "node b holds" in a.note
    wall.t += 1
    assert not a.acquire(), "and does not take it back"


async def test_a_second_engine_on_the_database_refuses_to_start(session_factory: sessionmaker[Session]) -> None:
    first = Engine(session_factory, {}, lease=DialingLease(session_factory, "node-a"))
    await first.start()
    try:
        second = Engine(session_factory, {}, lease=DialingLease(session_factory, "node-b"))
        with pytest.raises(LeaseHeld, match="node node-a holds the dialing lease"):
            await second.start()
        assert second.state is EngineState.CREATED
        assert first.lease is not None and first.lease.held
        await first.tick()
    finally:
        await first.stop()
    # A clean stop releases the lease: the successor need not wait for it to expire.
    third = Engine(session_factory, {}, lease=DialingLease(session_factory, "node-c"))
    await third.start()
    try:
        assert third.lease is not None and third.lease.held
    finally:
        await third.stop()


async def test_a_tick_asks_the_database_thread_about_the_lease_only_when_a_renewal_is_due(
    session_factory: sessionmaker[Session],
) -> None:
    """Between renewals the lease is decided on the loop (``may_dial`` compares two times): each
    tick's hop to the database thread and back costs a GIL hand-over both ways under load."""
    wall = Wall()
    engine = Engine(session_factory, {}, lease=_lease(session_factory, "node-a", wall))
    await engine.start(run=False)
    try:
        asked: list[str] = []
        in_db = engine._in_db

        async def counted(fn: object, *args: object) -> object:
            asked.append(getattr(fn, "__name__", repr(fn)))
            return await in_db(fn, *args)  # type: ignore[arg-type]

        engine._in_db = counted  # type: ignore[method-assign]
        for _ in range(4):  # well inside one renewal period (TTL / 3 = 5 s)
            wall.t += 0.25
            await engine.tick()
        assert "tick" not in asked and engine.lease is not None and engine.lease.held
        wall.t += TTL / 3  # a renewal is due: it is done in the database thread, as before
        await engine.tick()
        assert asked.count("tick") == 1 and engine.lease.held
    finally:
        await engine.stop()
