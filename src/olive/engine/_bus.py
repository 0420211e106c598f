"""An in-process event bus: the engine publishes, the API's event stream and the dashboard listen."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class BusEvent:
    id: int
    kind: str  # "call", "agent", "campaign"
    at: float
    data: Mapping[str, Any]
    campaign_id: str | None = None


@dataclass(eq=False)
class Subscription:
    campaign_id: str | None
    queue: asyncio.Queue[BusEvent] = field(default_factory=lambda: asyncio.Queue(maxsize=2000))
    dropped: int = 0
    #: The loop the subscriber reads on; events published on another loop (the engine's, in its
    #: own thread) are handed over to it (``olive serve`` runs the engine apart from HTTP).
    loop: asyncio.AbstractEventLoop | None = None

    async def __aiter__(self) -> AsyncIterator[BusEvent]:
        while True:
            yield await self.queue.get()

    def offer(self, event: BusEvent) -> None:
        """Queue ``event``; a slow listener loses its oldest events, never blocks the engine."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class EventBus:
    def __init__(self, history: int = 500) -> None:
        self._ids = itertools.count(1)
        self._subs: set[Subscription] = set()
        self.recent: deque[BusEvent] = deque(maxlen=history)

    def publish(self, kind: str, at: float, data: Mapping[str, Any], campaign_id: str | None = None) -> BusEvent:
        event = BusEvent(next(self._ids), kind, at, dict(data), campaign_id)
        self.recent.append(event)
        here = _running_loop()
        for sub in list(self._subs):
            if sub.campaign_id is not None and sub.campaign_id != campaign_id:
                continue
            if sub.loop is None or sub.loop is here:
                sub.offer(event)
                continue
            try:  # the subscriber's loop is another thread's: queue it there
                sub.loop.call_soon_threadsafe(sub.offer, event)
            except RuntimeError:  # that loop is closed: the subscriber is gone
                self._subs.discard(sub)
        return event

    def subscribe(self, campaign_id: str | None = None) -> Subscription:
        sub = Subscription(campaign_id, loop=_running_loop())
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


__all__ = ["BusEvent", "EventBus", "Subscription"]
