"""/dial-lists: the lists of contacts campaigns dial."""

from olive.api._dial_lists.endpoints import router

__all__ = ["router"]
