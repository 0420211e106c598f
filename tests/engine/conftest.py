"""Fixtures shared by the engine's in-memory tests (tests/engine/memory.py)."""

from __future__ import annotations

from engine.memory import mem

__all__ = ["mem"]
