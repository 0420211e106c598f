"""The fault suite runs olive's engine against the simulator (the e2e harness), on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import Olive, Target, second_simulator, start_target, stop_target
from engine.memory import mem  # noqa: F401  (the in-memory engine fixture, as in tests/engine)


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    t = await start_target()
    if not t.simulated:
        await stop_target(t)
        pytest.skip("playing a fault needs the simulator")
    yield t
    await stop_target(t)


@pytest.fixture
async def olive(session_factory: sessionmaker[Session], target: Target) -> AsyncIterator[Olive]:
    o = Olive(session_factory, target)
    yield o
    await o.stop()


@pytest.fixture
async def pbx_b(target: Target) -> AsyncIterator[Any]:
    """A second simulated Asterisk on the target's clock (the scale-out tests' second server)."""
    async with second_simulator(target) as pbx:
        yield pbx
