"""/campaigns: CRUD, start/pause/resume/stop, and live statistics."""

from olive.api._campaigns.endpoints import router

__all__ = ["router"]
