"""/dial-lists/{dial_list_id}/contacts endpoints: thin handlers, one service call each."""

from __future__ import annotations

import tempfile
from typing import IO, Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from olive.api._admission import run_bulk
from olive.api._contacts import service
from olive.api._contacts.schemas import (
    IMPORT_CSV_SCHEMA,
    IMPORT_JSON_SCHEMA,
    ContactCreate,
    ContactOut,
    ContactUpdate,
    ImportReport,
)
from olive.api._deps import Admin, Context, DbSession, PagingDep, Viewer
from olive.api._errors import ErrorBody, responses
from olive.api._schemas import TEXT_PATTERN, Page, path_id
from olive.store import transaction

router = APIRouter(prefix="/dial-lists/{dial_list_id}/contacts", tags=["contacts"], responses=responses(401, 403, 422))

DialListId = Annotated[str, path_id("dial list")]
ContactId = Annotated[str, path_id("contact")]
CSV_TYPES = ("text/csv", "application/csv")
#: A JSON import is parsed whole (about 1 KB of memory per contact): past this, send CSV, which streams.
MAX_JSON_BYTES = 8 * 1024 * 1024
_JSON_TOO_LARGE = (
    f"a JSON import is at most {MAX_JSON_BYTES // (1024 * 1024)} MiB; send larger imports as CSV (text/csv), which streams"
)
SPOOL_WRITE = 1024 * 1024  # bytes of the body gathered before each write to the spool file


@router.get("", dependencies=[Viewer], summary="List a dial list's contacts", responses=responses(404))
def list_contacts(
    dial_list_id: DialListId,
    session: DbSession,
    paging: PagingDep,
    status: Annotated[Literal["pending", "dialing", "done", "exhausted", "dnc"] | None, Query()] = None,
    external_ref: Annotated[str | None, Query(pattern=TEXT_PATTERN)] = None,
    number: Annotated[str | None, Query(pattern=TEXT_PATTERN, description="any of the contact's numbers")] = None,
) -> Page[ContactOut]:
    page = service.list_contacts(
        session, dial_list_id, paging, status=status, external_ref=external_ref, number=number
    )
    return Page[ContactOut].build(page, [ContactOut.model_validate(c) for c in page.items])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
    summary="Add a contact",
    responses=responses(404, 409),
)
def create_contact(dial_list_id: DialListId, body: ContactCreate, session: DbSession, response: Response) -> ContactOut:
    contact = service.create(session, dial_list_id, body.model_dump())
    response.headers["Location"] = f"/dial-lists/{dial_list_id}/contacts/{contact.id}"
    return ContactOut.model_validate(contact)


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
    summary="Import contacts (CSV or JSON), all or nothing",
    description="Every row is checked first. If any row is bad nothing is imported, and the 422 "
    "response lists each bad row: its `row` (CSV line, the header being line 1; or JSON item, from 1), "
    "`field` and `reason` (the first 1,000 problems; the message counts them all). Numbers are normalised "
    "to E.164 with the list's default region. A CSV body streams (up to the API's body limit, 64 MiB, "
    "and 1,000,000 rows); a JSON body is read whole and is at most 8 MiB.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": IMPORT_CSV_SCHEMA},
                "application/json": {"schema": IMPORT_JSON_SCHEMA},
            },
        }
    },
    responses={
        **responses(404, 413, 415),
        422: {"model": ErrorBody, "description": "Bad rows (code import_refused) or an unreadable body."},
    },
)
async def import_contacts(dial_list_id: DialListId, request: Request, context: Context) -> ImportReport:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in (*CSV_TYPES, "application/json"):
        raise HTTPException(415, "send text/csv or application/json")
    if media_type == "application/json":
        body = await _json_body(request)
        return await run_bulk(context.admission, _import_json, context.sessions, dial_list_id, body)
    with tempfile.TemporaryFile() as upload:
        await _spool_body(request, upload)
        upload.seek(0)
        # In a worker thread: a 1M-row file takes minutes and must not stall the loop.
        return await run_bulk(context.admission, service.import_csv, context.sessions, dial_list_id, upload)


async def _spool_body(request: Request, upload: IO[bytes]) -> None:
    """The request body into ``upload`` as it arrives, never whole in memory.

    Written on the loop: a write of at most :data:`SPOOL_WRITE` bytes to a
    fresh temporary file lands in the page cache (well under a millisecond),
    cheaper than a hop to a worker thread per chunk.
    """
    pending: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        pending.append(chunk)
        size += len(chunk)
        if size >= SPOOL_WRITE:
            upload.write(b"".join(pending))
            pending.clear()
            size = 0
    upload.write(b"".join(pending))


async def _json_body(request: Request) -> bytes:
    """A JSON body, read whole (it is parsed whole): refused with 413 past :data:`MAX_JSON_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise HTTPException(413, _JSON_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BYTES:
            raise HTTPException(413, _JSON_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def _import_json(sessions: object, dial_list_id: str, body: bytes) -> ImportReport:
    with transaction(sessions) as session:  # type: ignore[arg-type]
        return service.import_rows(session, dial_list_id, "application/json", body)


@router.get("/{contact_id}", dependencies=[Viewer], summary="Read a contact", responses=responses(404))
def read_contact(dial_list_id: DialListId, contact_id: ContactId, session: DbSession) -> ContactOut:
    return ContactOut.model_validate(service.get(session, dial_list_id, contact_id))


@router.patch("/{contact_id}", dependencies=[Admin], summary="Change a contact", responses=responses(404, 409))
def update_contact(
    dial_list_id: DialListId, contact_id: ContactId, body: ContactUpdate, session: DbSession
) -> ContactOut:
    changes = body.model_dump(exclude_unset=True)
    return ContactOut.model_validate(service.update(session, dial_list_id, contact_id, changes))


@router.delete(
    "/{contact_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Admin],
    summary="Delete a contact",
    description="Refused (409) while the contact is on a call. Its call records are kept.",
    responses=responses(404, 409),
)
def delete_contact(dial_list_id: DialListId, contact_id: ContactId, session: DbSession) -> None:
    service.delete_contact(session, dial_list_id, contact_id)


__all__ = ["router"]
