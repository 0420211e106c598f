"""/dnc endpoints: thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from olive.api._admission import run_bulk
from olive.api._deps import Admin, Context, DbSession, PagingDep, Viewer
from olive.api._dnc import service
from olive.api._dnc.schemas import (
    IMPORT_CSV_SCHEMA,
    DncCreate,
    DncImportReport,
    DncLookup,
    DncOut,
    Number,
    Scope,
)
from olive.api._errors import ErrorBody, responses
from olive.api._schemas import ID_PATTERN, Page, Region, path_id
from olive.store import transaction

router = APIRouter(prefix="/dnc", tags=["do not call"], responses=responses(401, 403, 422))

DncId = Annotated[str, path_id("do-not-call entry")]
CampaignFilter = Annotated[str | None, Query(pattern=ID_PATTERN, description="a campaign's own list")]
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


@router.get("", dependencies=[Viewer], summary="List do-not-call numbers")
def list_dnc(
    session: DbSession,
    paging: PagingDep,
    campaign_id: CampaignFilter = None,
    scope: Annotated[Scope | None, Query(description="global: the global list; campaign: campaigns' lists")] = None,
    number: Annotated[Number | None, Query()] = None,
    region: Annotated[Region, Query()] = "US",
) -> Page[DncOut]:
    page = service.list_entries(session, paging, campaign_id=campaign_id, scope=scope, number=number, region=region)
    return Page[DncOut].build(page, [DncOut.model_validate(e) for e in page.items])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
    summary="Add a number",
    description="Blocked from the next Originate on. 201 when added; 200 when the list already had it.",
    responses={200: {"model": DncOut, "description": "The list already had the number."}},
)
def add_dnc(body: DncCreate, session: DbSession, response: Response) -> DncOut:
    entry, created = service.add(session, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/dnc/{entry.id}"
    return DncOut.model_validate(entry)


@router.post(
    "/import",
    dependencies=[Admin],
    summary="Import numbers from CSV, all or nothing",
    description="Every row is checked first. If any row is bad nothing is imported and the 422 response "
    "lists each bad row (code import_refused), unless `skip_invalid` is set: then the good rows go in and "
    "the bad ones are reported in `skipped`. Numbers already on the list are kept as they are.",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": IMPORT_CSV_SCHEMA}}}},
    responses={
        **responses(413, 415),
        422: {"model": ErrorBody, "description": "Bad rows (code import_refused), or an unknown campaign."},
    },
)
async def import_dnc(
    request: Request,
    context: Context,
    campaign_id: CampaignFilter = None,
    region: Annotated[Region, Query(description="for numbers without a country code")] = "US",
    skip_invalid: Annotated[bool, Query()] = False,
) -> DncImportReport:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CSV_TYPES:
        raise HTTPException(415, "send text/csv")
    body = await request.body()
    return await run_bulk(context.admission, _import, context, body, campaign_id, region, skip_invalid)


def _import(context: Context, body: bytes, campaign_id: str | None, region: str, skip_invalid: bool) -> DncImportReport:
    with transaction(context.sessions) as session:
        return service.import_csv(session, body, campaign_id=campaign_id, region=region, skip_invalid=skip_invalid)


@router.get(
    "/check",
    dependencies=[Viewer],
    summary="Is a number on a do-not-call list?",
    description="A lookup: the global list, and the campaign's own list when `campaign_id` is given. "
    "It is not recorded as a pre-dial check (olive records those itself before every Originate).",
)
def check_dnc(
    session: DbSession,
    number: Annotated[Number, Query()],
    campaign_id: CampaignFilter = None,
    region: Annotated[Region, Query()] = "US",
) -> DncLookup:
    return service.lookup(session, number, campaign_id, region)


@router.get("/{dnc_id}", dependencies=[Viewer], summary="Read an entry", responses=responses(404))
def read_dnc(dnc_id: DncId, session: DbSession) -> DncOut:
    return DncOut.model_validate(service.get(session, dnc_id))


@router.delete(
    "/{dnc_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Admin],
    summary="Take a number off a list",
    description="Only when the person has asked to be called again.",
    responses=responses(404),
)
def delete_dnc(dnc_id: DncId, session: DbSession) -> None:
    service.delete(session, dnc_id)


__all__ = ["router"]
