"""Errors: every failure the API returns has one shape, rendered by one set of handlers.

Domain errors carry their status code (``olive.errors``: Conflict 409,
Invalid 422; ``olive.store.NotFound`` 404; here: Unauthorized 401,
Forbidden 403). Handlers turn them, request validation errors, refused
imports and HTTP errors into :class:`ErrorBody`. Routes declare the codes
they may return with :func:`responses`, so the OpenAPI schema (and
schemathesis) know them.

    OliveError
    ├── Conflict       409
    ├── Invalid        422
    ├── Unauthorized   401 (with WWW-Authenticate: Bearer)
    └── Forbidden      403
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from olive.contacts_import import ImportRefused
from olive.controls import control_error
from olive.errors import OliveError
from olive.store import NotFound

log = logging.getLogger("olive.api")

Location = Literal["body", "query", "path", "header", "row"]


class Unauthorized(OliveError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012


class Forbidden(OliveError):
    status_code = 403


class ErrorDetail(BaseModel):
    """One problem: where it is and what is wrong."""

    location: Location | None = Field(default=None, description="body, query, path, header, or row (imports)")
    field: str | None = Field(default=None, description="the field's path, e.g. retry_rules.BUSY.delay_s")
    reason: str
    row: int | None = Field(default=None, description="imports: the CSV line (header is 1) or JSON item (from 1)")


class ErrorBody(BaseModel):
    """What every error response carries."""

    status: int
    code: str = Field(description="not_found, conflict, invalid, import_refused, unauthorized, ...")
    message: str
    errors: list[ErrorDetail] = Field(default_factory=list)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
}
_DESCRIPTIONS = {
    401: "Missing or unknown API key.",
    403: "The API key's role may not do this.",
    404: "No such resource.",
    409: "The request conflicts with the current state.",
    413: "The request body is too large.",
    415: "Unsupported content type.",
    422: "Invalid input: each problem names its field.",
    429: "Too many wrong API keys (or agent sign-ins) from this address; see Retry-After.",
    503: "Not ready, or overloaded (the database is busy): retry after Retry-After seconds.",
}

#: Seconds a client is asked to wait when the database is saturated (pool exhausted, lock held).
RETRY_AFTER_S = 1


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entries for these error codes, all with :class:`ErrorBody`."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS.get(code, "Error.")} for code in codes}


def json_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The same, for routes whose own responses are not JSON (event streams, CSV)."""
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {
        code: {"description": _DESCRIPTIONS.get(code, "Error."), "content": {"application/json": {"schema": schema}}}
        for code in codes
    }


def error_response(
    status: int,
    message: str,
    errors: Sequence[ErrorDetail] = (),
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(status=status, code=code or _CODES.get(status, "error"), message=message, errors=list(errors))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def field_path(parts: Sequence[int | str]) -> str:
    """``("retry_rules", "BUSY", "delay_s")`` -> ``retry_rules.BUSY.delay_s``; list items as ``phones[0]``."""
    out = ""
    for part in parts:
        if part == "[key]":  # pydantic's marker for a bad dict key: the path already names it
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


#: Plain words for the fields whose shape is a regular expression.
PATTERN_HINTS = {
    "channel_template": "must name a channel technology and contain {number} or {digits}, e.g. PJSIP/{number}@trunk",
    "interface": "must be an Asterisk device such as PJSIP/101 (no spaces, commas or control characters)",
    "name": "letters, digits, spaces and . _ - (at most 200), starting with a letter or digit",
    "queue": "an Asterisk queue name: letters, digits, _ and - (at most 80)",
    "server": "an Asterisk server name: letters, digits, _ and - (at most 80)",
    "context": "a dialplan context: letters, digits, _ and - (at most 80)",
    "drop_message": "a recording name: letters, digits and _ - / . (at most 200)",
    "amd_message": "a recording name: letters, digits and _ - / . (at most 200)",
    "message": "a recording name: letters, digits and _ - / . (at most 200)",
    "ivr_prompt": "a recording name: letters, digits and _ - / . (at most 200)",
    "ivr_agent_key": "one key: 0-9 or *",
    "ivr_optout_key": "one key: 0-9 or *",
}


def validation_details(errors: Sequence[Any]) -> list[ErrorDetail]:
    details = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        where = loc[0] if loc and loc[0] in ("body", "query", "path", "header") else None
        rest = loc[1:] if where else loc
        reason = str(error.get("msg", "invalid"))
        bad = error.get("input")
        if error.get("type") == "string_pattern_mismatch" and isinstance(bad, str) and control_error(bad):
            reason = str(control_error(bad))  # say which character, whatever the field
        elif error.get("type") == "string_pattern_mismatch" and rest and str(rest[-1]) in PATTERN_HINTS:
            reason = PATTERN_HINTS[str(rest[-1])]
        for prefix in ("Value error, ", "Assertion failed, "):
            reason = reason.removeprefix(prefix)
        ctx = error.get("ctx") or {}
        if error.get("type") == "json_invalid" and "error" in ctx:
            reason = f"not valid JSON: {ctx['error']}"
            rest = ()
        details.append(ErrorDetail(location=where, field=field_path(rest) or None, reason=reason))
    return details


async def _olive_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OliveError)
    details = [ErrorDetail(field=exc.field, reason=exc.message)] if exc.field else []
    return error_response(exc.status_code, exc.message, details, headers=getattr(exc, "headers", None))


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    return error_response(404, str(exc))


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    noun = "problem" if len(details) == 1 else "problems"
    return error_response(422, f"invalid request: {len(details)} {noun}", details)


async def _import_refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ImportRefused)
    details = [ErrorDetail(location="row", row=e.line, field=e.field, reason=e.reason) for e in exc.errors]
    message = f"{exc.bad_rows} bad row(s); nothing was imported"
    if exc.left_out:
        message += f"; the first {len(details)} problems are listed, {exc.left_out} more are not"
    return error_response(422, message, details, code="import_refused")


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        detail = ErrorDetail(location="body", reason="the body cannot be read as JSON (is it UTF-8?)")
        return error_response(422, "invalid request: 1 problem", [detail])
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return error_response(exc.status_code, str(exc.detail), headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI schema documents for the request's path (for ``Allow``)."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    path = request.url.path
    for template, item in paths.items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]+\})", template)
        )
        if re.fullmatch(pattern, path):
            return sorted(m.upper() for m in item if m.upper() in _METHODS)
    return []


_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"})


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    # Checks run before writes; this is the database settling a race between two requests.
    log.info("integrity error mapped to 409: %s", type(getattr(exc, "orig", exc)).__name__)
    return error_response(409, "the change conflicts with data that already exists (a name or reference)")


async def _data(request: Request, exc: Exception) -> JSONResponse:
    log.info("data error mapped to 422: %s", type(getattr(exc, "orig", exc)).__name__)
    return error_response(422, "a value cannot be stored (too long, or holds a character the database refuses)")


async def _pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    # Every connection of the API's pool is in use and none came back in time.
    log.warning("database pool exhausted: answered 503 to %s %s", request.method, request.url.path)
    return overloaded("the server is overloaded: every database connection is busy; retry shortly")


#: What SQLite and PostgreSQL say when a lock or a timeout, not the request, is the problem.
_BUSY = ("database is locked", "database table is locked", "database is busy", "lock timeout", "canceling statement due to")


async def _operational(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    reason = str(exc.orig)
    if any(text in reason for text in _BUSY):
        log.warning("database busy (%s): answered 503 to %s %s", reason.splitlines()[0], request.method, request.url.path)
        return overloaded("the server is overloaded: the database is busy with other writes; retry shortly")
    # Unreachable, restarting, out of connections: nothing the request did; no 500.
    log.error("database unavailable (%s): answered 503 to %s %s", type(exc.orig).__name__, request.method, request.url.path)
    return overloaded("the database is unavailable; retry shortly", code="database_unavailable")


def overloaded(message: str, *, code: str = "overloaded") -> JSONResponse:
    """503 with Retry-After: the honest answer when the database, not the request, is the limit."""
    return error_response(503, message, code=code, headers={"Retry-After": str(RETRY_AFTER_S)})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OliveError, _olive_error)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ImportRefused, _import_refused)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(OperationalError, _operational)


__all__ = [
    "RETRY_AFTER_S",
    "ErrorBody",
    "ErrorDetail",
    "Forbidden",
    "Unauthorized",
    "error_response",
    "field_path",
    "install_error_handlers",
    "json_responses",
    "overloaded",
    "responses",
    "validation_details",
]
