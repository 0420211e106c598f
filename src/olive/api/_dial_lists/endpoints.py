"""/dial-lists endpoints: thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from olive.api._deps import Admin, DbSession, PagingDep, Viewer
from olive.api._dial_lists import service
from olive.api._dial_lists.schemas import DialListCreate, DialListOut, DialListUpdate
from olive.api._errors import responses
from olive.api._schemas import TEXT_PATTERN, Page, path_id

router = APIRouter(prefix="/dial-lists", tags=["dial lists"], responses=responses(401, 403, 422))

DialListId = Annotated[str, path_id("dial list")]


@router.get("", dependencies=[Viewer], summary="List dial lists")
def list_dial_lists(
    session: DbSession,
    paging: PagingDep,
    name: Annotated[str | None, Query(pattern=TEXT_PATTERN, description="exact name")] = None,
) -> Page[DialListOut]:
    page = service.list_dial_lists(session, paging, name=name)
    return Page[DialListOut].build(page, service.to_out(session, page.items))


@router.post(
    "", status_code=status.HTTP_201_CREATED, dependencies=[Admin], summary="Create a dial list", responses=responses(409)
)
def create_dial_list(body: DialListCreate, session: DbSession, response: Response) -> DialListOut:
    dial_list = service.create(session, body)
    response.headers["Location"] = f"/dial-lists/{dial_list.id}"
    return service.to_out(session, [dial_list])[0]


@router.get("/{dial_list_id}", dependencies=[Viewer], summary="Read a dial list", responses=responses(404))
def read_dial_list(dial_list_id: DialListId, session: DbSession) -> DialListOut:
    return service.to_out(session, [service.get(session, dial_list_id)])[0]


@router.patch("/{dial_list_id}", dependencies=[Admin], summary="Change a dial list", responses=responses(404, 409))
def update_dial_list(dial_list_id: DialListId, body: DialListUpdate, session: DbSession) -> DialListOut:
    dial_list = service.update(session, dial_list_id, body.model_dump(exclude_unset=True))
    return service.to_out(session, [dial_list])[0]


@router.delete(
    "/{dial_list_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Admin],
    summary="Delete a dial list and its contacts",
    description="Refused (409) while a running or paused campaign dials it, or one of its contacts is on a call. "
    "Call records are kept.",
    responses=responses(404, 409),
)
def delete_dial_list(dial_list_id: DialListId, session: DbSession) -> None:
    service.delete(session, dial_list_id)


__all__ = ["router"]
