"""On PostgreSQL a tick stores what it saw beside writing its dials, not before.

A tick's two transactions (storing the calls' and agents' changes; writing the new
calls before their Originates) touch different rows, and each is mostly round trips:
one after the other, a tick at 1,000 agents took their sum (docs/performance.md,
"Storing beside dialing"). The store runs in a second database thread with its own
connection; the pacers decide on what the stores before it committed. Held up here
by a lock another connection keeps on the calls' rows, the store waits while the
tick's dials are written; their Originates go once both transactions ended, and a
store that fails puts its changes back without keeping the dials from going.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import ONCE, make_campaign, number
from engine.memory import InMemory
from olive.store import Call, transaction


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"  # SQLite writes one transaction at a time: there the store comes first, as before


def calls_written(sessions: sessionmaker[Session], campaign_id: str) -> int:
    with transaction(sessions) as s:
        return s.scalar(select(func.count()).select_from(Call).where(Call.campaign_id == campaign_id)) or 0


def outcomes(sessions: sessionmaker[Session], campaign_id: str) -> list[str | None]:
    with transaction(sessions) as s:
        return list(s.scalars(select(Call.outcome).where(Call.campaign_id == campaign_id)))


async def lines_freed(mem: InMemory, campaign_id: str) -> int:
    """Dial busy numbers until some calls ended and are waiting to be stored: the next
    tick has changes to store and lines to fill. Returns the calls written so far."""
    await mem.run_until(lambda: calls_written(mem.sessions, campaign_id) > 0, within_s=30, what="the first dials")
    link = mem.engine.links["default"]
    for _ in range(40):
        await mem.clock.advance(0.25)  # events only: no tick
        if any(c.ended for c in link.call_changes):
            return calls_written(mem.sessions, campaign_id)
    raise AssertionError("no call ended")


BUSY = [number(2, i) for i in range(12)]


async def test_a_store_held_up_does_not_hold_back_the_writing_of_the_ticks_dials(mem: InMemory, db_clean: SAEngine) -> None:
    cid = make_campaign(mem.sessions, name="beside", contacts=BUSY, retry_rules=ONCE)
    await mem.start()
    before = await lines_freed(mem, cid)
    link = mem.engine.links["default"]
    followed = {r.call_id for r in link.tracker.active()}
    with db_clean.connect() as locker:
        locker.execute(text("SELECT id FROM calls FOR UPDATE")).all()  # the store's UPDATE waits on these
        tick = asyncio.create_task(mem.engine.tick())
        try:
            for _ in range(500):  # real time: the store waits on PostgreSQL, not on the manual clock
                if calls_written(mem.sessions, cid) > before:
                    break
                assert not tick.done(), "the tick ended although its store could not have"
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("no dial was written while the tick's store waited")
            assert not tick.done()
            assert outcomes(mem.sessions, cid).count("BUSY") == 0  # not stored yet
            # Written, not yet sent: the tick's I/O starts once both transactions ended.
            assert {r.call_id for r in link.tracker.active()} <= followed
        finally:
            locker.rollback()
        await asyncio.wait_for(tick, 30)
    assert not link.call_changes  # stored, not put back
    assert outcomes(mem.sessions, cid).count("BUSY") >= 1
    sent = {r.call_id for r in link.tracker.active()} - followed
    assert len(sent) == calls_written(mem.sessions, cid) - before  # every dial written is followed and sent


async def test_a_failed_store_beside_the_dials_loses_no_change_and_the_dials_still_go(
    mem: InMemory, db_clean: SAEngine
) -> None:
    cid = make_campaign(mem.sessions, name="beside-fails", contacts=BUSY, retry_rules=ONCE)
    await mem.start()
    before = await lines_freed(mem, cid)
    link = mem.engine.links["default"]
    waiting = list(link.call_changes)
    with db_clean.connect() as locker:
        locker.execute(text("SELECT id FROM calls FOR UPDATE")).all()
        tick = asyncio.create_task(mem.engine.tick())
        try:
            for _ in range(500):
                if calls_written(mem.sessions, cid) > before:
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("no dial was written while the tick's store waited")
            # The store's backend is the one waiting for the lock: once it waits, cancel its statement.
            with db_clean.connect() as killer:
                for _ in range(500):
                    cancelled = killer.execute(text(
                        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE calls%'"
                    )).scalars().all()
                    if cancelled:
                        break
                    await asyncio.sleep(0.02)
                else:
                    raise AssertionError("the store never waited for the lock")
            with pytest.raises(Exception, match="cancel"):
                await asyncio.wait_for(tick, 30)
        finally:
            locker.rollback()
    assert link.call_changes[: len(waiting)] == waiting  # back for the next tick, ahead of newer ones
    sent = calls_written(mem.sessions, cid)
    assert sent > before and len(link.tracker.active()) >= sent - before  # the dials went out all the same
    await mem.step()
    assert outcomes(mem.sessions, cid).count("BUSY") >= 1


def abandons_stored(sessions: sessionmaker[Session], campaign_id: str) -> int:
    with transaction(sessions) as s:
        return s.scalar(
            select(func.count()).select_from(Call).where(Call.campaign_id == campaign_id, Call.outcome == "ABANDONED")
        ) or 0


async def test_a_runner_read_beside_a_store_counts_that_stores_abandons_once(mem: InMemory, db_clean: SAEngine) -> None:
    """A campaign the engine starts running while a store runs beside the re-read (here: its
    runner dropped, as on a start with calls in progress) gets its runner once that store
    committed: its abandon guard counts each stored abandon once, the one of that very store
    too, neither missed (restored before the commit) nor twice (restored, then heard of)."""
    cid = make_campaign(mem.sessions, name="abandons", contacts=[number(5, i) for i in range(12)], retry_rules=ONCE)
    await mem.start()
    await mem.run_until(lambda: abandons_stored(mem.sessions, cid) >= 2, within_s=120, what="two abandons stored")
    engine, link = mem.engine, mem.engine.links["default"]
    del engine.runners[cid]
    engine.invalidate()
    for _ in range(80):  # events only, no tick: until an abandon waits to be stored
        if any(c.ended and c.record.outcome is not None and c.record.outcome.value == "ABANDONED" for c in link.call_changes):
            break
        await mem.clock.advance(0.25)
    else:
        raise AssertionError("no abandon waiting to be stored")
    before = abandons_stored(mem.sessions, cid)
    await engine.tick()
    assert abandons_stored(mem.sessions, cid) > before  # stored by this tick, beside the re-read
    (to_date, *_) = engine.status(cid).abandon_windows
    assert to_date.abandons == abandons_stored(mem.sessions, cid)
    assert (engine.note(cid) or "").startswith("starting"), engine.note(cid)  # no runner when it decided
    placed = calls_written(mem.sessions, cid)
    await mem.run_until(lambda: calls_written(mem.sessions, cid) > placed, within_s=30, what="dialing again")
