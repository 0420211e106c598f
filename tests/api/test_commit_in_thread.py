"""A sync handler's write is committed before FastAPI builds its response.

FastAPI validates a sync handler's response in another trip to the thread
pool, and a ``yield`` dependency's commit comes after that. With one API
thread and a queue of requests, a write transaction (on SQLite, the one
write lock) stayed open for seconds, and the engine's tick waited for it
(docs/performance.md, "SQLite under API load"). The response model below
looks, from another connection, whether the row is already there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, model_validator
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from olive.api._deps import commit_in_handler_thread
from olive.store import make_engine, make_sessionmaker

_state: dict[str, Engine] = {}
_seen: list[int] = []


class Out(BaseModel):
    x: int

    @model_validator(mode="after")
    def look(self) -> Out:
        with _state["engine"].connect() as other:
            _seen.append(int(other.execute(text("SELECT count(*) FROM t")).scalar_one()))
        return self


def db() -> Iterator[Session]:
    with make_sessionmaker(_state["engine"])() as session:
        yield session
        session.commit()


def add(session: Annotated[Session, Depends(db, scope="function")]) -> dict[str, int]:
    session.execute(text("INSERT INTO t VALUES (1)"))
    return {"x": 1}


@pytest.mark.parametrize(("wrapped", "seen"), [(True, 1), (False, 0)])
def test_the_write_is_committed_before_the_response_is_built(
    tmp_path: Path, wrapped: bool, seen: int
) -> None:
    _state["engine"] = engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    _seen.clear()
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    router = APIRouter()
    router.post("/t", response_model=Out)(add)
    app = FastAPI()
    app.include_router(commit_in_handler_thread(router) if wrapped else router)
    with TestClient(app) as client:
        assert client.post("/t").json() == {"x": 1}
    assert _seen == [seen], "without it the row is not committed yet when the response is built"
    engine.dispose()
