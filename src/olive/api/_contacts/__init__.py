"""/dial-lists/{id}/contacts: contacts one by one, and bulk import (CSV or JSON)."""

from olive.api._contacts.endpoints import router

__all__ = ["router"]
