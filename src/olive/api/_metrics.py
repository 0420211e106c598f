"""/metrics for Prometheus, and the middleware that counts API requests."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from olive.api._deps import Context, Viewer
from olive.api._errors import responses
from olive.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["probes"])


@router.get(
    "/metrics",
    dependencies=[Viewer],
    summary="Prometheus metrics",
    description="Calls by outcome, calls in progress, agents by state, pacer estimates, abandon rates "
    "per window, AMI links, engine ticks, database latency and API requests, in Prometheus's text "
    "format. Needs a viewer key: scrape with `authorization: {credentials_file: ...}` (docs/operations.md).",
    response_class=Response,
    responses={
        **responses(401, 403, 422),
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"},
    },
)
def metrics(context: Context) -> Response:
    registry: Metrics = context.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)


class RequestMetrics:
    """Count every HTTP request by method, route template and status (not the raw path: ids
    would make a series per object)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - started)


__all__ = ["RequestMetrics", "router"]
