"""Forced stops across nodes: PostgreSQL ``NOTIFY`` from the node that got the request, ``LISTEN``
on every ``--scale-out`` node (docs/scale-out.md, "Forced stop").

A forced stop (``POST /campaigns/{id}/stop?force=true``) may reach any node; the calls are
followed by the engines of the nodes that own the campaign's units. The campaign is stopped
first (its own transaction: no unit dials it from its next refresh on); then
:func:`request_hangup` sends ``NOTIFY olive_hangup, '<campaign id>'``, delivered on commit to
every listening node; each owner hangs up the campaign's calls it follows. Nothing is stored:
a stop is a moment, not a state, and a node that was not listening then (reconnecting to the
database) holds no call it could hang up with certainty anyway.
"""

from __future__ import annotations

from typing import Final

import psycopg
from sqlalchemy import URL, func, select, text
from sqlalchemy.orm import Session

from olive.store._calls import Call

HANGUP_CHANNEL: Final = "olive_hangup"


def request_hangup(session: Session, campaign_id: str) -> int:
    """Ask the owners of the campaign's units to hang up its calls in progress; how many are open.

    PostgreSQL only (on SQLite there is one node, and it hangs up its own calls): the notice
    goes out when the transaction commits, and only then.
    """
    open_calls = session.scalar(
        select(func.count()).select_from(Call).where(Call.campaign_id == campaign_id, Call.ended_at.is_(None))
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :campaign)"), {"channel": HANGUP_CHANNEL, "campaign": campaign_id})
    return open_calls or 0


class HangupFeed:
    """A connection of its own that ``LISTEN``s for forced stops. Not thread-safe: one reader."""

    def __init__(self, url: URL, *, connect_timeout_s: float = 5.0) -> None:
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        # TCP keepalives: a connection a partition left half-open is found dead in about 25 s, not hours.
        self._conn = psycopg.connect(
            dsn, autocommit=True, connect_timeout=max(1, round(connect_timeout_s)),
            keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
        )
        self._conn.execute(f"LISTEN {HANGUP_CHANNEL}")

    def wait(self, timeout_s: float) -> list[str]:
        """The campaigns whose forced stop was asked, waiting up to ``timeout_s`` for the first."""
        out: list[str] = []
        for notice in self._conn.notifies(timeout=timeout_s, stop_after=1):
            out.append(notice.payload)
        for notice in self._conn.notifies(timeout=0):  # and whatever came with it
            out.append(notice.payload)
        return out

    def close(self) -> None:
        self._conn.close()


__all__ = ["HANGUP_CHANNEL", "HangupFeed", "request_hangup"]
