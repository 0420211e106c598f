"""/plans endpoints: thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from olive.api._deps import Admin, DbSession, PagingDep, Viewer
from olive.api._errors import responses
from olive.api._plans import service
from olive.api._plans.schemas import PlanCreate, PlanOut, PlanUpdate
from olive.api._schemas import TEXT_PATTERN, Page, path_id
from olive.store import Plan

router = APIRouter(prefix="/plans", tags=["plans"], responses=responses(401, 403, 422))

PlanId = Annotated[str, path_id("plan")]


@router.get("", dependencies=[Viewer], summary="List plans")
def list_plans(
    session: DbSession,
    paging: PagingDep,
    name: Annotated[str | None, Query(pattern=TEXT_PATTERN, description="exact name")] = None,
    dial_mode: Annotated[Literal["progressive", "power", "predictive", "preview", "agentless"] | None, Query()] = None,
) -> Page[PlanOut]:
    page = service.list_plans(session, paging, name=name, dial_mode=dial_mode)
    return Page[PlanOut].build(page, [PlanOut.model_validate(p) for p in page.items])


@router.post(
    "", status_code=status.HTTP_201_CREATED, dependencies=[Admin], summary="Create a plan", responses=responses(409)
)
def create_plan(body: PlanCreate, session: DbSession, response: Response) -> PlanOut:
    plan = service.create(session, body)
    response.headers["Location"] = f"/plans/{plan.id}"
    return _out(plan)


@router.get("/{plan_id}", dependencies=[Viewer], summary="Read a plan", responses=responses(404))
def read_plan(plan_id: PlanId, session: DbSession) -> PlanOut:
    return _out(service.get(session, plan_id))


@router.patch(
    "/{plan_id}",
    dependencies=[Admin],
    summary="Change a plan",
    description="Campaigns on this plan, running ones too, use the new settings from their next call on; "
    "calls in progress keep the plan they started with (`plan_snapshot`).",
    responses=responses(404, 409),
)
def update_plan(plan_id: PlanId, body: PlanUpdate, session: DbSession) -> PlanOut:
    return _out(service.update(session, plan_id, body.model_dump(exclude_unset=True)))


@router.delete(
    "/{plan_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Admin],
    summary="Delete a plan",
    description="Refused (409) while any campaign uses the plan.",
    responses=responses(404, 409),
)
def delete_plan(plan_id: PlanId, session: DbSession) -> None:
    service.delete(session, plan_id)


def _out(plan: Plan) -> PlanOut:
    return PlanOut.model_validate(plan)


__all__ = ["router"]
