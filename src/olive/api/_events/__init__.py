"""/events: a live stream (server-sent events) of call, agent and campaign events."""

from olive.api._events.endpoints import router

__all__ = ["router"]
