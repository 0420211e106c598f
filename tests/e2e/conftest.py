from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import Olive, Target, queue_members, remove_members, start_target, stop_target


@pytest.fixture(scope="module")
def db_backend() -> str:
    """End-to-end runs use SQLite; test_campaign.py runs on PostgreSQL too (the store
    and API suites cover PostgreSQL in depth)."""
    return "sqlite"


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    """The Asterisk under test; its queue is left as the test found it, pass or fail
    (on a real Asterisk the tests would otherwise ring each other's agents)."""
    t = await start_target()
    before = await queue_members(t)
    try:
        yield t
    finally:
        try:
            await remove_members(t, await queue_members(t) - before)
            left = await queue_members(t) - before
            assert not left, f"members left in the test queue: {sorted(left)}"
        finally:
            await stop_target(t)


@pytest.fixture
async def olive(session_factory: sessionmaker[Session], target: Target) -> AsyncIterator[Olive]:
    o = Olive(session_factory, target)
    yield o
    await o.stop()
