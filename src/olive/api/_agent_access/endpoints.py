"""An admin's side of agents' own pages: issue and revoke an agent's password, force an
agent out, and set a campaign's pause reasons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status
from starlette.concurrency import run_in_threadpool

from olive.api._agent_access import service as admin
from olive.api._agent_access.schemas import PasswordOut, PauseReasons
from olive.api._agents.schemas import AgentOut
from olive.api._deps import Admin, Context, Viewer
from olive.api._errors import responses
from olive.api._schemas import path_id

router = APIRouter(tags=["agents"], responses=responses(401, 403, 422))

AgentId = Annotated[str, path_id("agent")]
CampaignId = Annotated[str, path_id("campaign")]


@router.post(
    "/agents/{agent_id}/password",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
    summary="Issue an agent's password",
    description="A new password for the agent's page, shown only now and stored hashed. "
    "Any earlier password and its sessions end.",
    responses=responses(404),
)
async def issue_password(agent_id: AgentId, context: Context) -> PasswordOut:
    return await admin.issue_password(context, agent_id)


@router.delete(
    "/agents/{agent_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Admin],
    summary="Revoke an agent's password",
    description="The agent is signed out at once and cannot sign in until a new password is issued.",
    responses=responses(404),
)
async def revoke_password(agent_id: AgentId, context: Context) -> Response:
    await admin.revoke_password(context, agent_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/agents/{agent_id}/force-out",
    dependencies=[Admin],
    summary="Force an agent out",
    description="Signs the agent's page out and takes them out of their queues (QueueRemove); an agent on "
    "a call keeps it, paused as `forced_out`.",
    responses=responses(404),
)
async def force_out(agent_id: AgentId, context: Context) -> AgentOut:
    return await admin.force_out(context, agent_id)


@router.get(
    "/campaigns/{campaign_id}/pause-reasons",
    dependencies=[Viewer],
    summary="A campaign's pause reasons",
    responses=responses(404),
)
async def read_pause_reasons(campaign_id: CampaignId, context: Context) -> PauseReasons:
    return await run_in_threadpool(admin.read_reasons, context, campaign_id)


@router.patch(
    "/campaigns/{campaign_id}/pause-reasons",
    dependencies=[Admin],
    summary="Set a campaign's pause reasons",
    description="Replaces the list; an empty list goes back to olive's defaults.",
    responses=responses(404),
)
async def write_pause_reasons(campaign_id: CampaignId, body: PauseReasons, context: Context) -> PauseReasons:
    return await run_in_threadpool(admin.write_reasons, context, campaign_id, body)


__all__ = ["router"]
