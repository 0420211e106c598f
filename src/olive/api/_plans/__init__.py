"""/plans: how campaigns dial (endpoints, schemas, service)."""

from olive.api._plans.endpoints import router

__all__ = ["router"]
