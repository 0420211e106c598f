"""Turning the engine's event bus into a server-sent event stream.

Each event is one SSE message: ``id`` (increasing; send it back as
``Last-Event-ID`` to catch up on recent events after a reconnect), ``event``
(call, agent or campaign) and ``data``, a JSON object. A comment line keeps
the connection alive every 15 seconds. The stream ends when the client goes,
when ``limit`` events were sent or ``timeout_s`` passed, or when the server
shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

from olive.api._deps import ApiContext
from olive.api._events.schemas import EventMessage
from olive.engine import BusEvent
from olive.store import from_epoch

HEARTBEAT_S = 15.0


@dataclass(frozen=True, slots=True)
class EventFilter:
    campaign_id: str | None
    kinds: frozenset[str]
    agent_ids: frozenset[str]  # the campaign's agents, when filtering by campaign

    def matches(self, event: BusEvent) -> bool:
        if self.kinds and event.kind not in self.kinds:
            return False
        if self.campaign_id is None or event.campaign_id == self.campaign_id:
            return True
        return event.kind == "agent" and event.data.get("agent_id") in self.agent_ids


def sse(event: BusEvent) -> str:
    payload = EventMessage.model_construct(
        id=event.id, kind=event.kind, at=from_epoch(event.at), campaign_id=event.campaign_id, data=dict(event.data)
    ).model_dump(mode="json")
    data = json.dumps(payload, default=str, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


async def stream(
    context: ApiContext,
    filters: EventFilter,
    *,
    last_event_id: int | None = None,
    limit: int | None = None,
    timeout_s: float | None = None,
) -> AsyncIterator[str]:
    bus = context.engine.bus
    subscription = bus.subscribe(None)
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    closing = asyncio.ensure_future(context.closing.wait())
    sent = 0
    seen = 0
    try:
        yield ": olive events\n\n"
        if last_event_id is not None:
            for event in list(bus.recent):
                if event.id > last_event_id and filters.matches(event) and not _done(sent, limit):
                    seen = event.id
                    sent += 1
                    yield sse(event)
        while not _done(sent, limit) and not context.closing.is_set():
            wait = HEARTBEAT_S if deadline is None else min(HEARTBEAT_S, deadline - loop.time())
            if wait <= 0:
                break
            getter = asyncio.ensure_future(subscription.queue.get())
            done, _ = await asyncio.wait({getter, closing}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
                if closing not in done and (deadline is None or loop.time() < deadline):
                    yield ": keep-alive\n\n"
                continue
            event = getter.result()
            if event.id > seen and filters.matches(event):
                sent += 1
                yield sse(event)
    finally:
        bus.unsubscribe(subscription)
        closing.cancel()


def _done(sent: int, limit: int | None) -> bool:
    return limit is not None and sent >= limit


def kinds_of(values: Collection[str] | None) -> frozenset[str]:
    return frozenset(values or ())


__all__ = ["HEARTBEAT_S", "EventFilter", "kinds_of", "sse", "stream"]
