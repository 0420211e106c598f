"""An admin's side of agents' pages: passwords, forcing out, campaigns' pause reasons."""

from olive.api._agent_access.endpoints import router

__all__ = ["router"]
