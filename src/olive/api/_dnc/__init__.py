"""/dnc: do-not-call lists, global and per campaign; numbers in E.164, imported from CSV."""

from olive.api._dnc.endpoints import router

__all__ = ["router"]
