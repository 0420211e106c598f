"""/calls: the attempt records, filtered and paginated, or as CSV."""

from olive.api._calls.endpoints import router

__all__ = ["router"]
