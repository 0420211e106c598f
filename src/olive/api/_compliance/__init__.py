"""Eligibility (will this contact be dialed now? why is this campaign not dialing?) and the
compliance exports a regulator may ask for."""

from olive.api._compliance.endpoints import router

__all__ = ["router"]
