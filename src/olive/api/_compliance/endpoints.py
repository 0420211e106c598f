"""Eligibility and compliance export endpoints: thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from olive.api._calls.endpoints import Time
from olive.api._compliance import service
from olive.api._compliance.schemas import CampaignDialing, ContactEligibility, Kind
from olive.api._deps import DbSession, EngineDep, Viewer
from olive.api._errors import json_responses, responses
from olive.api._schemas import ID_PATTERN, path_id

router = APIRouter(tags=["compliance"], responses=responses(401, 403, 422))

ContactId = Annotated[str, path_id("contact")]
CampaignId = Annotated[str, path_id("campaign")]


@router.get(
    "/contacts/{contact_id}/eligibility",
    dependencies=[Viewer],
    summary="Will this contact be dialed now?",
    description="For each campaign dialing the contact's list: whether it will be dialed now and, if not, "
    "each reason with the time it clears (outside calling hours with its local time, do not call, attempts "
    "exhausted, retry delay, the 72-hour lockout, the campaign paused, ...). The same rules the dial guard "
    "applies before every Originate.",
    responses=responses(404),
)
def contact_eligibility(
    contact_id: ContactId,
    session: DbSession,
    engine: EngineDep,
    campaign_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="only this campaign")] = None,
) -> ContactEligibility:
    return service.contact(session, contact_id, campaign_id, engine.clock.now())


@router.get(
    "/campaigns/{campaign_id}/eligibility",
    dependencies=[Viewer],
    summary="Why is this campaign (not) dialing?",
    description="Campaign-level reasons (paused, no agent ready, nothing due and when the next contact is), "
    "how many due contacts each reason holds back, compliance warnings, and the engine's own note.",
    responses=responses(404),
)
def campaign_eligibility(campaign_id: CampaignId, session: DbSession, engine: EngineDep) -> CampaignDialing:
    return service.campaign(session, campaign_id, engine)


@router.get(
    "/compliance/exports/{kind}.csv",
    dependencies=[Viewer],
    summary="Compliance records as CSV",
    description="attempts: every call with its outcome, timestamps, agent connect wait, abandon reason, message "
    "played and DNC check. abandons: abandon counts per window (campaign to date, successive 30-day and "
    "24-hour periods, rolling 24 h and 30 days). dnc-checks: every do-not-call check. dnc: the lists. "
    "`since`/`until` apply to attempts and dnc-checks.",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV, with a header row."},
        **json_responses(401, 403, 422),
    },
)
def export(
    kind: Annotated[Kind, Path(description="attempts, abandons, dnc-checks or dnc")],
    session: DbSession,
    engine: EngineDep,
    campaign_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    since: Annotated[Time | None, Query(description="ISO 8601 with zone")] = None,
    until: Annotated[Time | None, Query(description="ISO 8601 with zone")] = None,
) -> Response:
    text = service.export_csv(
        session,
        kind,
        engine.clock.now(),
        campaign_id,
        None if since is None else since.timestamp(),
        None if until is None else until.timestamp(),
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )


__all__ = ["router"]
