"""/agents endpoints: thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from olive.api._agents import service
from olive.api._agents.schemas import AgentCreate, AgentOut, AgentUpdate, PauseRequest, State
from olive.api._deps import Admin, Context, DbSession, PagingDep, Viewer
from olive.api._errors import responses
from olive.api._schemas import ID_PATTERN, TEXT_PATTERN, Page, path_id

router = APIRouter(prefix="/agents", tags=["agents"], responses=responses(401, 403, 422))

AgentId = Annotated[str, path_id("agent")]


@router.get("", dependencies=[Viewer], summary="List agents")
def list_agents(
    session: DbSession,
    paging: PagingDep,
    state: Annotated[State | None, Query()] = None,
    name: Annotated[str | None, Query(pattern=TEXT_PATTERN, description="exact name")] = None,
    campaign_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="agents of this campaign")] = None,
) -> Page[AgentOut]:
    page = service.list_agents(session, paging, state=state, name=name, campaign_id=campaign_id)
    return Page[AgentOut].build(page, service.to_out(session, page.items))


@router.post(
    "", status_code=status.HTTP_201_CREATED, dependencies=[Admin], summary="Create an agent", responses=responses(409)
)
def create_agent(body: AgentCreate, session: DbSession, response: Response) -> AgentOut:
    agent = service.create(session, body)
    response.headers["Location"] = f"/agents/{agent.id}"
    return service.to_out(session, [agent])[0]


@router.get("/{agent_id}", dependencies=[Viewer], summary="Read an agent", responses=responses(404))
def read_agent(agent_id: AgentId, session: DbSession) -> AgentOut:
    return service.to_out(session, [service.get(session, agent_id)])[0]


@router.patch("/{agent_id}", dependencies=[Admin], summary="Change an agent", responses=responses(404, 409))
def update_agent(agent_id: AgentId, body: AgentUpdate, session: DbSession) -> AgentOut:
    agent = service.update(session, agent_id, body.model_dump(exclude_unset=True))
    return service.to_out(session, [agent])[0]


@router.delete(
    "/{agent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Admin],
    summary="Delete an agent",
    description="Refused (409) unless the agent is logged out. Their call records are kept.",
    responses=responses(404, 409),
)
def delete_agent(agent_id: AgentId, session: DbSession) -> None:
    service.delete(session, agent_id)


@router.post(
    "/{agent_id}/login",
    dependencies=[Admin],
    summary="Log an agent in",
    description="The agent becomes ready and joins the queues of their running campaigns (QueueAdd).",
    responses=responses(404, 409),
)
async def login_agent(agent_id: AgentId, context: Context) -> AgentOut:
    return await service.login(context, agent_id)


@router.post(
    "/{agent_id}/ready",
    dependencies=[Admin],
    summary="Make a paused agent ready",
    description="Unpauses the agent in their queues (QueuePause Paused=false). 409 if logged out.",
    responses=responses(404, 409),
)
async def ready_agent(agent_id: AgentId, context: Context) -> AgentOut:
    return await service.ready(context, agent_id)


@router.post(
    "/{agent_id}/pause",
    dependencies=[Admin],
    summary="Pause an agent",
    description="Pauses the agent in their queues with the reason (QueuePause). An agent on a call "
    "finishes it first. 409 if logged out.",
    responses=responses(404, 409),
)
async def pause_agent(agent_id: AgentId, body: PauseRequest, context: Context) -> AgentOut:
    return await service.pause(context, agent_id, body.reason)


@router.post(
    "/{agent_id}/logout",
    dependencies=[Admin],
    summary="Log an agent out",
    description="Removes the agent from their queues (QueueRemove). 409 while on a call.",
    responses=responses(404, 409),
)
async def logout_agent(agent_id: AgentId, context: Context) -> AgentOut:
    return await service.logout(context, agent_id)


__all__ = ["router"]
