"""/disposition-codes and /calls/{call_id}/disposition endpoints: thin handlers, one service call each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from olive.api._deps import Admin, DbSession, EngineDep, Viewer
from olive.api._dispositions import service
from olive.api._dispositions.schemas import (
    DispositionCodeCreate,
    DispositionCodeOut,
    DispositionCodeUpdate,
    DispositionOut,
    DispositionSet,
)
from olive.api._errors import responses
from olive.api._schemas import path_id

router = APIRouter(tags=["dispositions"], responses=responses(401, 403, 422))

CodePath = Annotated[str, Path(description="the code", max_length=64)]
CallId = Annotated[str, path_id("call")]


@router.get("/disposition-codes", dependencies=[Viewer], summary="List disposition codes")
def list_codes(session: DbSession) -> list[DispositionCodeOut]:
    return [DispositionCodeOut.model_validate(c) for c in service.list_codes(session)]


@router.post(
    "/disposition-codes",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Admin],
    summary="Create a disposition code",
    responses=responses(409),
)
def create_code(body: DispositionCodeCreate, session: DbSession, response: Response) -> DispositionCodeOut:
    row = service.create_code(session, body)
    response.headers["Location"] = f"/disposition-codes/{row.code}"
    return DispositionCodeOut.model_validate(row)


@router.get("/disposition-codes/{code}", dependencies=[Viewer], summary="Read a disposition code", responses=responses(404))
def read_code(code: CodePath, session: DbSession) -> DispositionCodeOut:
    return DispositionCodeOut.model_validate(service.get_code(session, code))


@router.patch("/disposition-codes/{code}", dependencies=[Admin], summary="Change a disposition code", responses=responses(404))
def update_code(code: CodePath, body: DispositionCodeUpdate, session: DbSession) -> DispositionCodeOut:
    return DispositionCodeOut.model_validate(service.update_code(session, code, body.model_dump(exclude_unset=True)))


@router.delete(
    "/disposition-codes/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Admin],
    summary="Delete a disposition code",
    description="Refused (409) once a call has it.",
    responses=responses(404, 409),
)
def delete_code(code: CodePath, session: DbSession) -> None:
    service.delete_code(session, code)


@router.post(
    "/calls/{call_id}/disposition",
    dependencies=[Admin],
    summary="Set a call's disposition",
    description="During the call or after it. Its code's flags act on the contact once the call has ended "
    "(`applied`), exactly once; a DNC code adds the number to the global list at once. Another disposition "
    "may replace it until it has taken effect (409 after).",
    responses=responses(404, 409),
)
def set_disposition(call_id: CallId, body: DispositionSet, session: DbSession, engine: EngineDep) -> DispositionOut:
    return service.set_call_disposition(session, call_id, body, engine.clock.now())


__all__ = ["router"]
