"""/callbacks: calls promised for a time, owned by an agent or open to anyone."""

from olive.api._callbacks.endpoints import router

__all__ = ["router"]
