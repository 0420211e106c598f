"""/campaigns endpoints: thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from olive.api._campaigns import control, service
from olive.api._campaigns.schemas import (
    CampaignCreate,
    CampaignOut,
    CampaignStats,
    CampaignUpdate,
    StopResult,
)
from olive.api._deps import Admin, Context, DbSession, PagingDep, Viewer
from olive.api._errors import responses
from olive.api._schemas import ID_PATTERN, TEXT_PATTERN, Page, path_id

router = APIRouter(prefix="/campaigns", tags=["campaigns"], responses=responses(401, 403, 422))

CampaignId = Annotated[str, path_id("campaign")]


@router.get("", dependencies=[Viewer], summary="List campaigns")
def list_campaigns(
    session: DbSession,
    context: Context,
    paging: PagingDep,
    status: Annotated[Literal["stopped", "running", "paused", "finished"] | None, Query()] = None,
    plan_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    name: Annotated[str | None, Query(pattern=TEXT_PATTERN, description="exact name")] = None,
) -> Page[CampaignOut]:
    page = service.list_campaigns(session, paging, status=status, plan_id=plan_id, name=name)
    engine = context.engine
    return Page[CampaignOut].build(page, service.to_outs(session, page.items, engine.note))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
    summary="Create a campaign",
    description="The campaign is created stopped. 409 if its plan breaks its compliance profile.",
    responses=responses(409),
)
def create_campaign(body: CampaignCreate, session: DbSession, response: Response) -> CampaignOut:
    campaign = service.create(session, body)
    response.headers["Location"] = f"/campaigns/{campaign.id}"
    return service.to_out(session, campaign)


@router.get("/{campaign_id}", dependencies=[Viewer], summary="Read a campaign", responses=responses(404))
def read_campaign(campaign_id: CampaignId, session: DbSession, context: Context) -> CampaignOut:
    return service.to_out(session, service.get(session, campaign_id), context.engine.note(campaign_id))


@router.patch(
    "/{campaign_id}",
    dependencies=[Admin],
    summary="Change a campaign",
    description="A running campaign may get another plan, lists, agents or profile: new calls use them, "
    "calls in progress keep the plan they started with.",
    responses=responses(404, 409),
)
def update_campaign(campaign_id: CampaignId, body: CampaignUpdate, session: DbSession, context: Context) -> CampaignOut:
    campaign = service.update(session, campaign_id, body.model_dump(exclude_unset=True))
    return service.to_out(session, campaign, context.engine.note(campaign_id))


@router.delete(
    "/{campaign_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Admin],
    summary="Delete a campaign",
    description="Refused (409) while it runs or is paused, and once it has call records.",
    responses=responses(404, 409),
)
def delete_campaign(campaign_id: CampaignId, session: DbSession) -> None:
    service.delete(session, campaign_id)


@router.post(
    "/{campaign_id}/start",
    dependencies=[Admin],
    summary="Start dialing",
    description="409 if the campaign has no agents or no dial list, its plan breaks its compliance "
    "profile, or its Asterisk server is not configured.",
    responses=responses(404, 409),
)
async def start_campaign(campaign_id: CampaignId, context: Context) -> CampaignOut:
    return await control.start(context, campaign_id)


@router.post(
    "/{campaign_id}/pause",
    dependencies=[Admin],
    summary="Pause dialing",
    description="No new calls; calls in progress go on. 409 unless running or paused.",
    responses=responses(404, 409),
)
async def pause_campaign(campaign_id: CampaignId, context: Context) -> CampaignOut:
    return await control.pause(context, campaign_id)


@router.post(
    "/{campaign_id}/resume",
    dependencies=[Admin],
    summary="Resume dialing",
    description="409 unless paused or running.",
    responses=responses(404, 409),
)
async def resume_campaign(campaign_id: CampaignId, context: Context) -> CampaignOut:
    return await control.resume(context, campaign_id)


@router.post(
    "/{campaign_id}/stop",
    dependencies=[Admin],
    summary="Stop the campaign",
    description="No new calls; calls in progress finish. With `force=true` they are hung up.",
    responses=responses(404, 409),
)
async def stop_campaign(
    campaign_id: CampaignId,
    context: Context,
    force: Annotated[bool, Query(description="hang up calls in progress")] = False,
) -> StopResult:
    campaign, hung_up = await control.stop(context, campaign_id, force=force)
    return StopResult(campaign=campaign, calls_hung_up=hung_up)


@router.get(
    "/{campaign_id}/stats",
    dependencies=[Viewer],
    summary="A campaign's figures",
    description="Calls by outcome, contacts remaining, abandon rate over the campaign, 24 h and 30 days, "
    "agent occupancy, connects per agent-hour, the dial level and the pacer's estimates.",
    responses=responses(404),
)
async def campaign_stats(campaign_id: CampaignId, context: Context) -> CampaignStats:
    return await control.stats(context, campaign_id)


__all__ = ["router"]
