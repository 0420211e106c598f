"""The API's own database engine: its pool is not the dialing engine's.

Requests share nothing with the engine's connections, so however many
clients call at once they cannot take the connections the engine needs to
dial (on SQLite they still share the one write lock, which the busy timeout
arbitrates). Their waits are short: a request that finds every connection in
use for :data:`API_POOL_TIMEOUT_S`, or the SQLite write lock held for
:data:`API_BUSY_TIMEOUT_MS`, is answered 503 with Retry-After (see
``_errors.py``) instead of queueing until it times out.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from olive.store import make_engine, make_sessionmaker

API_POOL_SIZE: Final = 10
API_MAX_OVERFLOW: Final = 10
API_POOL_TIMEOUT_S: Final = 2.0
API_BUSY_TIMEOUT_MS: Final = 2_000


def make_api_engine(url: str) -> Engine:
    """An engine for the API's requests only (WAL, busy timeout and foreign keys as every olive engine)."""
    return make_engine(
        url,
        busy_timeout_ms=API_BUSY_TIMEOUT_MS,
        pool_size=API_POOL_SIZE,
        max_overflow=API_MAX_OVERFLOW,
        pool_timeout_s=API_POOL_TIMEOUT_S,
    )


def make_api_sessions(url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_api_engine(url))


__all__ = [
    "API_BUSY_TIMEOUT_MS",
    "API_MAX_OVERFLOW",
    "API_POOL_SIZE",
    "API_POOL_TIMEOUT_S",
    "make_api_engine",
    "make_api_sessions",
]
