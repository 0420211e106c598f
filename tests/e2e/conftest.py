from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import Olive, Target, queue_members, remove_members, start_target, stop_target

#: Every queue the tests' agents join: the campaign's and the owned callbacks' (a real Asterisk
#: kept agent105 in olive-callbacks after a run that cleaned olive-test only).
QUEUES = ("olive-test", "olive-callbacks")


@pytest.fixture(scope="module")
def db_backend() -> str:
    """End-to-end runs use SQLite; test_campaign.py runs on PostgreSQL too (the store
    and API suites cover PostgreSQL in depth)."""
    return "sqlite"


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    """The Asterisk under test; its queues are left as the test found them, pass or fail
    (on a real Asterisk the tests would otherwise ring each other's agents)."""
    t = await start_target()
    before = {queue: await queue_members(t, queue) for queue in QUEUES}
    try:
        yield t
    finally:
        try:
            left: dict[str, list[str]] = {}
            for queue in QUEUES:
                await remove_members(t, await queue_members(t, queue) - before[queue], queue)
                if still := await queue_members(t, queue) - before[queue]:
                    left[queue] = sorted(still)
            assert not left, f"members left in the test queues: {left}"
        finally:
            await stop_target(t)


@pytest.fixture
async def olive(session_factory: sessionmaker[Session], target: Target) -> AsyncIterator[Olive]:
    o = Olive(session_factory, target)
    yield o
    await o.stop()
