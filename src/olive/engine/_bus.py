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

    async def __aiter__(self) -> AsyncIterator[BusEvent]:
        while True:
            yield await self.queue.get()


class EventBus:
    def __init__(self, history: int = 500) -> None:
        self._ids = itertools.count(1)
        self._subs: set[Subscription] = set()
        self.recent: deque[BusEvent] = deque(maxlen=history)

    def publish(self, kind: str, at: float, data: Mapping[str, Any], campaign_id: str | None = None) -> BusEvent:
        event = BusEvent(next(self._ids), kind, at, dict(data), campaign_id)
        self.recent.append(event)
        for sub in list(self._subs):
            if sub.campaign_id is not None and sub.campaign_id != campaign_id:
                continue
            if sub.queue.full():  # a slow listener loses its oldest events, never blocks the engine
                sub.queue.get_nowait()
                sub.dropped += 1
            sub.queue.put_nowait(event)
        return event

    def subscribe(self, campaign_id: str | None = None) -> Subscription:
        sub = Subscription(campaign_id)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)


__all__ = ["BusEvent", "EventBus", "Subscription"]
