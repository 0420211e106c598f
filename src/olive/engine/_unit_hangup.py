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

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import URL

from olive.engine._campaigns import CampaignStatus
from olive.engine._engine import Engine
from olive.engine._live import STALE_AFTER_S, merged_status, unit_statuses
from olive.store import HangupFeed, UnitLiveView, request_hangup, transaction, unit_live

log = logging.getLogger("olive.engine")


class PoolView(Engine):
    """The API engine of a ``--scale-out`` node: places no call; a forced stop asks the owners;
    a campaign's status is its units' figures, as their holders published them (engine/_live.py)."""

    def __init__(self, *args: Any, stale_after_s: float = STALE_AFTER_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stale_after_s = stale_after_s
        # campaign id -> its units' figures as last read, and when (real time: their ages are the
        # database's clock's, in real seconds); replaced whole, as API threads read it.
        self.live: tuple[dict[str, list[UnitLiveView]], float] = ({}, time.monotonic())
        self._read_due = -float("inf")  # on the engine's clock
        self._read_asked = False

    def invalidate(self) -> None:
        super().invalidate()
        self._read_asked = True  # an operator acted: read the figures again at the next tick too

    async def tick(self) -> None:
        await super().tick()
        now = self.clock.now()
        if now < self._read_due and not self._read_asked:
            return
        self._read_asked = False
        self._read_due = now + self.refresh_s * self.clock.scale
        rows = await self._in_db(self._read_live)
        live: dict[str, list[UnitLiveView]] = {}
        for row in rows:
            live.setdefault(row.campaign_id, []).append(row)
        self.live = (live, time.monotonic())

    def _read_live(self) -> list[UnitLiveView]:
        with transaction(self.sessions) as session:
            return unit_live(session)

    def status(self, campaign_id: str) -> CampaignStatus:
        """The campaign's figures merged over its units' live ones; stale ones kept per server, marked."""
        live, read_at = self.live
        units = unit_statuses(live.get(campaign_id, ()), time.monotonic() - read_at, self.stale_after_s)
        if all(c.id != campaign_id for c in self.campaigns):
            # Neither running nor paused: what its units last published is history, not live.
            return CampaignStatus(campaign_id, None, units=tuple(dataclasses.replace(u, stale=True) for u in units))
        return merged_status(campaign_id, units)

    def note(self, campaign_id: str) -> str | None:
        return self.status(campaign_id).note

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
