"""The agent's own screen: sign in with an admin-issued password, go ready, pause and log
out, live events, the screen pop and the disposition (``/agent/...``)."""

from olive.api._agent.endpoints import router

__all__ = ["router"]
