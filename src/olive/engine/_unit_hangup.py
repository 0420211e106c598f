"""A forced stop on ``--scale-out`` nodes: the node that got the request asks, the owners hang up.

``POST /campaigns/{id}/stop?force=true`` may reach any node, and the node that gets it
may hold none of the campaign's units: its API engine (:class:`PoolView`) has no AMI link.
It stops the campaign (the classic verb, ``Control.stop_campaign``: status ``stopped``, so
no unit dials it from its engine's next refresh), then, where the classic engine would hang
up its own calls, sends ``NOTIFY olive_hangup, '<campaign id>'`` (``olive.store.request_hangup``)
and answers with the number of the campaign's calls then in progress. Every node listens
(:func:`listen_for_hangups`, a thread with a connection of its own); the owner of each of the
campaign's units has its unit's engine re-read the campaign (the tick under way ends, so its
committed dials have their Originates) and hang up the calls it follows, as the classic engine
does (``Hangup``, cause 16; a call not answered yet is recorded CANCELLED, an answered one keeps
its outcome).

Why ``LISTEN``/``NOTIFY`` and not a row the owners read at renewal: a stop is a moment, not a
state (a row would need a migration, and clearing, and a rule for the calls placed after it);
the notice reaches the owners within milliseconds of the commit, not within a renewal; and it
is sent only if the stop committed. What it does not do: a node reconnecting to the database at
that moment misses the notice, and its calls end as in a plain stop (they finish); the operator
can ask again (a second forced stop of a stopped campaign is allowed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import URL

from olive.engine._engine import Engine
from olive.store import HangupFeed, request_hangup, transaction

log = logging.getLogger("olive.engine")


class PoolView(Engine):
    """The API engine of a ``--scale-out`` node: places no call; a forced stop asks the owners."""

    async def hangup_calls(self, campaign_id: str | None) -> int:
        if campaign_id is None:  # the node stopping: its units' engines leave their calls to the next owner
            return 0

        def ask() -> int:
            with transaction(self.sessions) as session:
                return request_hangup(session, campaign_id)

        asked = await self.run_db(ask)
        log.info("campaign %s: forced stop: the owners of its units asked to hang up its %d call(s) in progress", campaign_id, asked)
        return asked


def listen_for_hangups(
    url: URL,
    on_request: Callable[[str], None],
    stopping: threading.Event,
    *,
    feed: Callable[[URL], HangupFeed] = HangupFeed,
    retry_s: float = 1.0,
) -> None:
    """Call ``on_request(campaign_id)`` for each forced stop asked on any node, until ``stopping``.

    Runs in a thread of its own (``asyncio.to_thread``): a database away blocks it, never the
    node runner's renewals. A lost connection is opened again every ``retry_s``."""
    listening: HangupFeed | None = None
    try:
        while not stopping.is_set():
            try:
                if listening is None:
                    listening = feed(url)
                for campaign_id in listening.wait(1.0):
                    on_request(campaign_id)
            except Exception as exc:
                log.warning("forced stops: not listening (%s: %s); trying again in %gs", type(exc).__name__, exc, retry_s)
                if listening is not None:
                    try:
                        listening.close()
                    except Exception:
                        log.debug("closing the forced stops' connection failed", exc_info=True)
                listening = None
                stopping.wait(retry_s)
    finally:
        if listening is not None:
            listening.close()


__all__ = ["PoolView", "listen_for_hangups"]
