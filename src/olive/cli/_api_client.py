"""A small HTTP client for the CLI commands that drive ``olive serve`` over its REST API.

It reads ``OLIVE_API_URL`` (default http://127.0.0.1:8080) and
``OLIVE_API_KEY``; errors come back as :class:`ApiError` with the API's
message and per-field problems, which :func:`fail` prints.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import httpx
import typer

from olive.cli._common import err_console

DEFAULT_URL = "http://127.0.0.1:8080"
URL_OPTION = typer.Option(None, "--api-url", help=f"olive serve's URL (env OLIVE_API_URL; default {DEFAULT_URL}).")
KEY_OPTION = typer.Option(None, "--api-key", help="An API key (env OLIVE_API_KEY; better than this flag).")
_ID = re.compile(r"[a-z]{2,8}_[0-9A-HJKMNP-TV-Z]{26}")


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{status}: {body.get('message', '')}")


class Api:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(0, {"message": f"cannot reach olive at {self.client.base_url} ({type(exc).__name__})"}) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text[:200] or response.reason_phrase}
            raise ApiError(response.status_code, body if isinstance(body, dict) else {"message": str(body)})
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.call("POST", path, **kwargs)

    def find(self, collection: str, name_or_id: str) -> dict[str, Any]:
        """The resource at ``/collection`` with this id, or else this exact name."""
        if _ID.fullmatch(name_or_id):
            found: dict[str, Any] = self.get(f"/{collection}/{name_or_id}")
            return found
        items = self.get(f"/{collection}", name=name_or_id)["items"]
        if not items:
            raise ApiError(404, {"message": f"no {collection.rstrip('s').replace('-', ' ')} named {name_or_id!r}"})
        first: dict[str, Any] = items[0]
        return first


@contextmanager
def connect(url: str | None, key: str | None, *, timeout: float | None = 30.0) -> Iterator[Api]:
    base = url or os.environ.get("OLIVE_API_URL") or DEFAULT_URL
    secret = key or os.environ.get("OLIVE_API_KEY")
    if not secret:
        err_console.print("[red]No API key: set OLIVE_API_KEY (create one with `olive apikey create --role admin`).", soft_wrap=True)
        raise typer.Exit(2)
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=base, headers=headers, timeout=timeout) as client:
        yield Api(client)


def fail(exc: ApiError) -> NoReturn:
    """Print the API's error (message and each field's problem) and exit 1 (2 if unreachable)."""
    body = exc.body
    err_console.print(f"[red]{body.get('message') or 'request failed'}[/]", highlight=False, soft_wrap=True)
    for problem in body.get("errors") or ():
        where = ""
        if problem.get("row") is not None:
            where = f"row {problem['row']}, "
        if problem.get("field"):
            where += f"{problem['field']}: "
        if where or problem.get("reason") != body.get("message"):
            err_console.print(f"  {where}{problem.get('reason', '')}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(2 if exc.status == 0 else 1)


__all__ = ["KEY_OPTION", "URL_OPTION", "Api", "ApiError", "connect", "fail"]
