"""/agents: CRUD and login/ready/pause/logout, which drive Asterisk queue membership."""

from olive.api._agents.endpoints import router

__all__ = ["router"]
