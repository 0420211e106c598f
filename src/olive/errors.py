"""Domain errors shared by the engine, the API and the CLI; each knows its HTTP status.

    OliveError
    ├── Conflict      409: the request clashes with the current state
    └── Invalid       422: the request itself is wrong (beyond schema checks)

``olive.store.NotFound`` (404) is raised by repositories for unknown ids.
"""

from __future__ import annotations


class OliveError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(message)


class Conflict(OliveError):
    status_code = 409


class Invalid(OliveError):
    status_code = 422


__all__ = ["Conflict", "Invalid", "OliveError"]
