"""``olive events``: tail the live event stream of a running ``olive serve``."""

from __future__ import annotations

import json
import time
from typing import Any

import typer

from olive.cli._api_client import KEY_OPTION, URL_OPTION, ApiError, connect, fail
from olive.cli._common import err_console


def register(app: typer.Typer) -> None:
    @app.command("events")
    def events(
        campaign: str | None = typer.Option(None, "--campaign", "-c", help="Only this campaign (name or id)."),
        kind: list[str] = typer.Option([], "--kind", help="call, agent or campaign (repeatable)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
        limit: int | None = typer.Option(None, "--limit", min=1, help="Stop after this many events."),
        timeout_s: float | None = typer.Option(None, "--timeout", min=0.01, help="Stop after this many seconds."),
        api_url: str | None = URL_OPTION,
        api_key: str | None = KEY_OPTION,
    ) -> None:
        """Print call, agent and campaign events as they happen (Ctrl-C to stop); reconnects if cut."""
        with connect(api_url, api_key, timeout=None) as api:
            try:
                campaign_id = api.find("campaigns", campaign)["id"] if campaign else None
            except ApiError as exc:
                fail(exc)
            params: dict[str, Any] = {"campaign_id": campaign_id, "kind": kind or None, "limit": limit, "timeout_s": timeout_s}
            last_id: str | None = None
            seen = 0
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            try:
                while True:
                    headers = {"Last-Event-ID": last_id} if last_id else {}
                    query = {k: v for k, v in params.items() if v is not None}
                    if limit is not None:
                        query["limit"] = limit - seen
                    if deadline is not None:
                        query["timeout_s"] = max(0.01, deadline - time.monotonic())
                    try:
                        with api.client.stream("GET", "/events", params=query, headers=headers) as response:
                            if response.status_code >= 400:
                                response.read()
                                raise ApiError(response.status_code, response.json())
                            for message in _messages(response.iter_lines()):
                                last_id = message.get("id", last_id)
                                seen += 1
                                _show(json.loads(message.get("data", "{}")), as_json)
                        return  # the server ended the stream: limit or timeout reached
                    except ApiError as exc:
                        fail(exc)
                    except Exception as exc:  # connection cut: say so, wait, resume after last_id
                        import httpx

                        if not isinstance(exc, httpx.TransportError):
                            raise
                        err_console.print(f"[yellow]event stream interrupted ({type(exc).__name__}); reconnecting", soft_wrap=True)
                        time.sleep(1.0)
            except KeyboardInterrupt:
                return


def _messages(lines: Any) -> Any:
    message: dict[str, str] = {}
    for line in lines:
        if not line:
            if message:
                yield message
            message = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            message[key] = value.removeprefix(" ")
    if message:
        yield message


def _show(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(event, separators=(",", ":")))
        return
    data = event.get("data") or {}
    detail = " ".join(f"{k}={v}" for k, v in data.items() if v is not None)
    typer.echo(f"{event.get('at', '')}  {event.get('kind', ''):8}  {event.get('campaign_id') or '-':32}  {detail}")


__all__ = ["register"]
