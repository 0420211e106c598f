"""Fixtures shared by the engine's in-memory tests (tests/engine/memory.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy.orm import Session, sessionmaker

from engine.memory import InMemory


@pytest.fixture
async def mem(session_factory: sessionmaker[Session], db_clean: SAEngine) -> AsyncIterator[InMemory]:
    """olive's engine and the simulated PBX in one process on a manual clock, allow-all guard;
    a module that needs another set-up (a guard, a tick period) defines its own ``mem``."""
    m = await InMemory.create(session_factory)
    yield m
    await m.stop()
