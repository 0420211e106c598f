"""Refused queue actions re-read the queue once, not once each."""

from __future__ import annotations

import asyncio
from typing import Any

from olive.engine._members import MembershipSync


class CountingLink:
    """Counts QueueStatus re-reads; each takes a moment, as a list of a thousand members does."""

    name = "default"

    def __init__(self) -> None:
        self.reads = 0
        self.release = asyncio.Event()

    async def refresh_queue(self, queue: str) -> list[Any]:
        self.reads += 1
        await self.release.wait()
        return []


async def test_refusals_during_a_reread_ask_for_one_more_not_one_each() -> None:
    sync = MembershipSync(engine=None)  # type: ignore[arg-type]  # _refresh needs only the link
    link = CountingLink()
    first = asyncio.create_task(sync._refresh(link, "sales"))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    others = [asyncio.create_task(sync._refresh(link, "sales")) for _ in range(500)]  # type: ignore[arg-type]
    await asyncio.gather(*others)  # they return at once: the read under way will be followed by one more
    link.release.set()
    await first
    assert link.reads == 2  # the one under way, then one after it for all the refusals meanwhile
    await sync._refresh(link, "sales")  # type: ignore[arg-type]  # later, a new refusal reads again
    assert link.reads == 3
