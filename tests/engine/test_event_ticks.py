"""The engine's own loop decides when a pacer's input changes, not only every period.

The loop runs (``start(run=True)``) on a manual clock shared with the simulated
PBX in memory, with a long period (``tick_s`` = 10 s), so a dial decided at the
period would come up to 10 s after the agent was free. Time moves in steps of
0.1 s; after each the test waits for the loop to be parked between ticks (an
event, not a sleep), so every time the engine records is the clock's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy.orm import Session, sessionmaker

from calls.replay import replay
from e2e.harness import ONCE, make_campaign, number
from engine.memory import InMemory
from olive.calls import AgentActivity
from olive.store import Call, to_epoch

PERIOD_S = 10.0
STEP_S = 0.1


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


@pytest.fixture
async def mem(session_factory: sessionmaker[Session], db_clean: SAEngine) -> AsyncIterator[InMemory]:
    m = await InMemory.create(session_factory, tick_s=PERIOD_S, seed=3)
    yield m
    await m.stop()


async def parked(mem: InMemory) -> None:
    """Until the engine's loop waits between ticks (its database thread is real: not on the clock)."""
    await asyncio.wait_for(mem.engine.parked.wait(), 30)  # a hang guard, not a timed assert


async def run_loop_until(mem: InMemory, predicate: Callable[[], bool], *, within_s: float) -> None:
    deadline = mem.clock.now() + within_s
    while not predicate():
        assert mem.clock.now() <= deadline, f"not within {within_s:g} s of virtual time"
        await mem.clock.advance(STEP_S)
        await parked(mem)


async def start_loop(mem: InMemory) -> None:
    await mem.engine.start(run=True)
    await parked(mem)
    link = mem.engine.links["default"]
    await run_loop_until(mem, lambda: link.ready and link.membership_confirmed, within_s=60)


def free_to_next_dial(calls: list[Call]) -> float:
    first, second = calls[0], calls[1]
    assert first.ended_at is not None
    return to_epoch(second.originated_at) - to_epoch(first.ended_at)


async def test_an_agent_freed_mid_period_gets_its_next_call_at_once(mem: InMemory) -> None:
    contacts = [number(1, 700 + i) for i in range(2)]
    cid = make_campaign(mem.sessions, name="event-tick", contacts=contacts, agents=["101"], retry_rules=ONCE)
    await start_loop(mem)
    await run_loop_until(mem, lambda: len(mem.calls(cid)) == 2, within_s=120)
    calls = mem.calls(cid)
    assert calls[0].outcome == "CONNECTED"
    # The agent is free when the call ends (no wrap-up): the next call is decided then,
    # not at the next period (up to 10 s later). The minimum spacing (0.05 s) and this
    # test's 0.1-s steps are all that separate them.
    assert 0 <= free_to_next_dial(calls) <= 2 * STEP_S
    assert mem.engine.event_ticks > 0


async def test_the_end_of_a_timed_wrap_up_is_decided_on_at_once(mem: InMemory) -> None:
    contacts = [number(1, 720 + i) for i in range(2)]
    cid = make_campaign(
        mem.sessions, name="wrap-up-tick", contacts=contacts, agents=["101"], retry_rules=ONCE, wrapup_s=5
    )
    await start_loop(mem)
    await run_loop_until(mem, lambda: len(mem.calls(cid)) == 2, within_s=120)
    # No event says a wrap-up is over: the loop wakes when it is due.
    assert 5.0 <= free_to_next_dial(mem.calls(cid)) <= 5.0 + 2 * STEP_S


async def test_a_storm_of_events_does_not_spin_the_loop(mem: InMemory) -> None:
    await start_loop(mem)
    engine = mem.engine
    engine._on_change()  # long after the last tick: at once
    await mem.clock.settle()
    await parked(mem)
    ticks = engine.ticks
    for _ in range(50):  # fifty pacer-moving events at the same instant of the clock
        engine._on_change()
        await mem.clock.settle()
    await parked(mem)
    assert engine.ticks == ticks  # not before the minimum spacing
    await mem.clock.advance(engine.min_tick_s)
    await parked(mem)
    assert engine.ticks == ticks + 1  # then one tick for all of them


def test_the_member_tracker_says_when_the_next_wrap_up_ends() -> None:
    """What the loop sleeps to: no event says a wrap-up is over (transcript 01, 2-s wrap-up)."""
    r = replay("01_answered_connected_to_agent", wrapup_s=2.0, until=29.0)  # 101 wraps up from 28.539 s
    agent = r.members.get("Local/101@agents")
    assert agent is not None and agent.activity is AgentActivity.WRAPUP
    assert r.members.next_due() == pytest.approx(30.539)
    assert r.members.tick(30.5) == []
    (done,) = r.members.tick(30.539)
    assert (done.status.activity, done.wrapup_s) == (AgentActivity.IDLE, pytest.approx(2.0))
    assert r.members.next_due() is None


async def test_a_large_dial_decision_is_placed_over_consecutive_ticks(mem: InMemory) -> None:
    # Progressive dialing, three idle agents: the pacer asks for 3 calls at once. With at
    # most one dial a tick, each tick places one and wakes the next, which decides again (the
    # calls placed count as on their way): all 3 are placed, a minimum spacing apart, long
    # before the 10-s period, and no more than the pacer asked.
    mem.engine.max_dials_per_tick = 1
    contacts = [number(3, 720 + i) for i in range(6)]  # ring to the dial timeout: the agents stay idle
    cid = make_campaign(mem.sessions, name="bounded", contacts=contacts, agents=["101", "102", "103"],
                        retry_rules=ONCE, dial_mode="progressive")
    await start_loop(mem)
    await run_loop_until(mem, lambda: len(mem.calls(cid)) >= 3, within_s=5)
    for _ in range(10):  # a second of virtual time: no fourth call while the three ring
        await mem.clock.advance(STEP_S)
        await parked(mem)
    calls = mem.calls(cid)
    assert len(calls) == 3
    sent = sorted(to_epoch(c.originated_at) for c in calls)
    spacing = mem.engine.min_tick_s - 1e-6  # stored to the microsecond: 0.05 may read back as 0.04999995
    assert sent[1] - sent[0] >= spacing and sent[2] - sent[1] >= spacing
    assert sent[2] - sent[0] <= 1.0  # the next ticks came at once, not a period (10 s) later
