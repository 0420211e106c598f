"""ManualClock.run_until_complete: a scene of hours in clock time, run as fast as its work."""

from __future__ import annotations

import asyncio

from olive.clock import ManualClock


async def test_sleepers_are_woken_in_order_at_their_exact_times() -> None:
    clock = ManualClock(start=1000.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    async def scene() -> float:
        await asyncio.gather(sleeper("hour", 3600.0), sleeper("second", 1.0), sleeper("minute", 60.0))
        return clock.now()

    ended = await clock.run_until_complete(asyncio.ensure_future(scene()))
    assert woke == [("second", 1001.0), ("minute", 1060.0), ("hour", 4600.0)]
    assert ended == 4600.0


async def test_a_cancelled_sleeper_does_not_hold_time_back() -> None:
    clock = ManualClock(start=0.0)
    forgotten = asyncio.ensure_future(clock.sleep(10_000.0))
    await clock.settle()
    forgotten.cancel()

    async def scene() -> float:
        await clock.sleep(5.0)
        return clock.now()

    assert await clock.run_until_complete(asyncio.ensure_future(scene())) == 5.0
    assert clock.next_wake() is None


async def test_work_that_is_ready_runs_before_time_moves() -> None:
    clock = ManualClock(start=0.0)
    pipe: asyncio.Queue[float] = asyncio.Queue()

    async def producer() -> None:
        await clock.sleep(2.0)
        await pipe.put(clock.now())

    async def consumer() -> float:
        got = await pipe.get()
        await clock.sleep(0.5)
        return clock.now() - got

    producing = asyncio.ensure_future(producer())
    assert await clock.run_until_complete(asyncio.ensure_future(consumer())) == 0.5
    assert producing.done()
