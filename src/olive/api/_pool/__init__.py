"""/pool: the Asterisk servers, the olive nodes and the units of work (docs/scale-out.md)."""

from olive.api._pool.endpoints import router

__all__ = ["router"]
