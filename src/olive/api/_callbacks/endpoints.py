"""/callbacks endpoints: thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from olive.api._callbacks import service
from olive.api._callbacks.schemas import CallbackCreate, CallbackOut, CallbackUpdate, Status
from olive.api._deps import Admin, DbSession, PagingDep, Viewer
from olive.api._errors import responses
from olive.api._schemas import ID_PATTERN, Page, path_id

router = APIRouter(prefix="/callbacks", tags=["callbacks"], responses=responses(401, 403, 422))

CallbackId = Annotated[str, path_id("callback")]
IdFilter = Annotated[str | None, Query(pattern=ID_PATTERN)]


@router.get("", dependencies=[Viewer], summary="List callbacks", description="Earliest due first.")
def list_callbacks(
    session: DbSession,
    paging: PagingDep,
    campaign_id: IdFilter = None,
    contact_id: IdFilter = None,
    agent_id: IdFilter = None,
    status: Annotated[Status | None, Query()] = None,
) -> Page[CallbackOut]:
    page = service.list_callbacks(
        session, paging, campaign_id=campaign_id, contact_id=contact_id, agent_id=agent_id, status=status
    )
    return Page[CallbackOut].build(page, [CallbackOut.model_validate(c) for c in page.items])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
    summary="Schedule a callback",
    description="Once due, the contact is dialed before every other contact of the campaign, within calling "
    "hours; an owned callback waits until its agent is ready. 409 if the contact is on a call or a DNC list.",
    responses=responses(409),
)
def create_callback(body: CallbackCreate, session: DbSession, response: Response) -> CallbackOut:
    callback = service.create(session, body)
    response.headers["Location"] = f"/callbacks/{callback.id}"
    return CallbackOut.model_validate(callback)


@router.get("/{callback_id}", dependencies=[Viewer], summary="Read a callback", responses=responses(404))
def read_callback(callback_id: CallbackId, session: DbSession) -> CallbackOut:
    return CallbackOut.model_validate(service.get(session, callback_id))


@router.patch(
    "/{callback_id}",
    dependencies=[Admin],
    summary="Move or reassign a callback",
    description="Only while scheduled (409 after).",
    responses=responses(404, 409),
)
def update_callback(callback_id: CallbackId, body: CallbackUpdate, session: DbSession) -> CallbackOut:
    return CallbackOut.model_validate(service.update(session, callback_id, body.model_dump(exclude_unset=True)))


@router.post(
    "/{callback_id}/cancel",
    dependencies=[Admin],
    summary="Cancel a callback",
    description="Only while scheduled (409 after).",
    responses=responses(404, 409),
)
def cancel_callback(callback_id: CallbackId, session: DbSession) -> CallbackOut:
    return CallbackOut.model_validate(service.cancel(session, callback_id))


__all__ = ["router"]
