"""Passwords and pause reasons as the admin's endpoints return them."""

from __future__ import annotations

from olive.api._agent.schemas import PasswordOut, PauseReasonItem, PauseReasons

__all__ = ["PasswordOut", "PauseReasonItem", "PauseReasons"]
