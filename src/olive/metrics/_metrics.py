"""The registry and the metrics that are incremented as things happen."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Engine ticks take milliseconds; a slow database shows as the upper buckets.
TICK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """One app's metrics. ``observe_tick`` is the engine's ``on_tick`` hook."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ticks = Counter(
            "olive_engine_ticks", "Engine ticks, by result (ok, failed)", ["result"], registry=self.registry
        )
        self.tick_seconds = Histogram(
            "olive_engine_tick_seconds",
            "How long one engine tick took (reading the AMI changes, the store, pacing, dialing)",
            buckets=TICK_BUCKETS,
            registry=self.registry,
        )
        self.api_requests = Counter(
            "olive_api_requests",
            "REST API requests, by method, route (the path template) and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.api_seconds = Histogram(
            "olive_api_request_seconds",
            "REST API request duration, by method and route (event streams count until they end)",
            ["method", "route"],
            registry=self.registry,
        )
        for result in ("ok", "failed"):
            self.ticks.labels(result)  # both series exist from the start, so rate() works at once

    def observe_tick(self, seconds: float, failed: bool) -> None:
        self.ticks.labels("failed" if failed else "ok").inc()
        self.tick_seconds.observe(seconds)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.api_requests.labels(method, route, str(status)).inc()
        self.api_seconds.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


__all__ = ["CONTENT_TYPE", "Metrics"]
