"""/events over HTTP: a server-sent event stream of the engine's bus."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from .conftest import LiveApi
from .helpers import error, make_campaign


def _publish(live_api: LiveApi, kind: str, data: dict[str, Any], campaign_id: str | None = None) -> int:
    """Publish on the engine's bus, from the server's event loop; returns the event id."""

    async def go() -> int:
        return live_api.engine.bus.publish(kind, live_api.engine.clock.now(), data, campaign_id).id

    return live_api.run(go())


def _messages(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    message: dict[str, str] = {}
    for line in lines:
        if not line:
            if message:
                yield message
            message = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            message[key] = value
    if message:
        yield message


class Stream:
    """An SSE stream read on a thread; ``ready`` once the server has subscribed."""

    def __init__(self, client: httpx.Client, params: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.messages: list[dict[str, str]] = []
        self.status = 0
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(client, params, headers or {}), daemon=True)
        self.thread.start()
        assert self.ready.wait(30), "the stream did not open"

    def _read(self, client: httpx.Client, params: dict[str, Any], headers: dict[str, str]) -> None:
        with client.stream("GET", "/events", params=params, headers=headers) as response:
            self.status = response.status_code
            self.content_type = response.headers.get("content-type", "")
            lines = response.iter_lines()
            for line in lines:  # the first comment: the server is subscribed
                self.ready.set()
                if not line:
                    break
            self.messages.extend(_messages(lines))
        self.ready.set()

    def join(self) -> list[dict[str, Any]]:
        self.thread.join(60)
        assert not self.thread.is_alive() and self.status == 200
        return [json.loads(m["data"]) | {"_event": m["event"], "_id": m["id"]} for m in self.messages]


class TestEvents:
    def test_streams_bus_events(self, viewer: httpx.Client, live_api: LiveApi) -> None:
        stream = Stream(viewer, {"limit": 2})
        assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
        first = _publish(live_api, "call", {"call_id": "call_1", "state": "ringing"}, "camp_A")
        _publish(live_api, "campaign", {"campaign_id": "camp_B", "status": "paused"}, "camp_B")
        events = stream.join()
        assert [e["kind"] for e in events] == ["call", "campaign"]
        assert events[0]["id"] == first and events[0]["_id"] == str(first) and events[0]["_event"] == "call"
        assert events[0]["data"] == {"call_id": "call_1", "state": "ringing"} and events[0]["campaign_id"] == "camp_A"
        assert datetime.fromisoformat(events[0]["at"]).utcoffset() == timedelta(0)

    def test_filters_by_campaign_with_its_agents(self, admin: httpx.Client, live_api: LiveApi) -> None:
        campaign = make_campaign(admin)
        stream = Stream(admin, {"campaign_id": campaign["id"], "limit": 2})
        _publish(live_api, "call", {"call_id": "elsewhere"}, "camp_other")
        _publish(live_api, "agent", {"agent_id": "agent_stranger", "state": "ready"})
        _publish(live_api, "agent", {"agent_id": campaign["agent_ids"][0], "state": "ready"})
        _publish(live_api, "call", {"call_id": "ours"}, campaign["id"])
        events = stream.join()
        assert [(e["kind"], e["data"].get("call_id") or e["data"]["agent_id"]) for e in events] == [
            ("agent", campaign["agent_ids"][0]),
            ("call", "ours"),
        ]

    def test_filters_by_kind(self, viewer: httpx.Client, live_api: LiveApi) -> None:
        stream = Stream(viewer, {"kind": ["agent", "campaign"], "limit": 1})
        _publish(live_api, "call", {"call_id": "x"}, "camp_A")
        _publish(live_api, "agent", {"agent_id": "agent_1", "state": "paused"})
        assert [e["kind"] for e in stream.join()] == ["agent"]

    def test_replays_after_last_event_id(self, viewer: httpx.Client, live_api: LiveApi) -> None:
        first = _publish(live_api, "call", {"call_id": "one"}, "camp_R")
        _publish(live_api, "call", {"call_id": "two"}, "camp_R")
        stream = Stream(viewer, {"limit": 1}, headers={"Last-Event-ID": str(first)})
        assert [e["data"]["call_id"] for e in stream.join()] == ["two"]

    def test_ends_after_timeout(self, viewer: httpx.Client) -> None:
        assert Stream(viewer, {"timeout_s": 0.2}).join() == []

    @pytest.mark.parametrize(
        "params", [{"limit": 0}, {"timeout_s": -1}, {"kind": "sms"}, {"campaign_id": "no spaces"}]
    )
    def test_bad_parameters(self, viewer: httpx.Client, params: dict[str, Any]) -> None:
        error(viewer.get("/events", params=params), 422)

    def test_bad_last_event_id(self, viewer: httpx.Client) -> None:
        body = error(viewer.get("/events", headers={"Last-Event-ID": "latest"}), 422)
        assert body["errors"][0]["location"] == "header"

    def test_unknown_campaign(self, viewer: httpx.Client) -> None:
        error(viewer.get("/events", params={"campaign_id": "camp_nope"}), 404)

    def test_needs_a_key(self, anon: httpx.Client) -> None:
        error(anon.get("/events", params={"timeout_s": 0.1}), 401)
