"""A small generic repository: get, get-or-raise, list with filters and paging, add, delete.

Repositories flush (so ids and constraint errors surface where the change is
made) but never commit: the edge that opened the session owns the transaction.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

from olive.store._base import Base

M = TypeVar("M", bound=Base)

MAX_LIMIT = 1000


class NotFound(LookupError):
    """No ``kind`` row with this id. The API maps it to 404."""

    def __init__(self, kind: str, id: str) -> None:
        super().__init__(f"{kind} {id!r} not found")
        self.kind = kind
        self.id = id


@dataclass(frozen=True, slots=True)
class Page(Generic[M]):
    items: list[M]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


class Repository(Generic[M]):
    model: ClassVar[type[Any]]
    kind: ClassVar[str] = "row"

    def __init__(self, session: Session) -> None:
        self.session = session

    def select(self) -> Select[M]:
        return select(self.model)

    def get(
        self, id: str, *, options: Sequence[ORMOption] = (), for_update: bool = False
    ) -> M | None:
        found: M | None = self.session.get(
            self.model, id, options=options, with_for_update=for_update or None
        )
        return found

    def get_or_raise(
        self, id: str, *, options: Sequence[ORMOption] = (), for_update: bool = False
    ) -> M:
        found = self.get(id, options=options, for_update=for_update)
        if found is None:
            raise NotFound(self.kind, id)
        return found

    def one_or_none(self, statement: Select[M]) -> M | None:
        return self.session.scalars(statement).unique().one_or_none()

    def all(self, statement: Select[M]) -> builtins.list[M]:
        return list(self.session.scalars(statement).unique().all())

    def list(
        self,
        *where: ColumnElement[bool],
        order_by: Sequence[Any] = (),
        limit: int = 50,
        offset: int = 0,
        options: Sequence[ORMOption] = (),
    ) -> Page[M]:
        """A page of rows matching ``where``, ordered by ``order_by`` then primary key."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        statement = self.select().where(*where)
        total = self.session.scalar(
            select(func.count()).select_from(statement.order_by(None).subquery())
        )
        primary_key = inspect(self.model).primary_key
        statement = (
            statement.order_by(*order_by, *primary_key)
            .limit(limit)
            .offset(offset)
            .options(*options)
        )
        return Page(self.all(statement), int(total or 0), limit, offset)

    def list_by(
        self,
        equal: Mapping[str, object],
        *where: ColumnElement[bool],
        order_by: Sequence[str] = (),
        limit: int = 50,
        offset: int = 0,
        options: Sequence[ORMOption] = (),
    ) -> Page[M]:
        """:meth:`list` of the rows whose columns equal ``equal``'s values (None: any),
        ordered by the named columns: the filters an API list endpoint takes."""
        filters = [getattr(self.model, column) == value for column, value in equal.items() if value is not None]
        return self.list(
            *filters, *where, order_by=[getattr(self.model, c) for c in order_by],
            limit=limit, offset=offset, options=options,
        )

    def count(self, *where: ColumnElement[bool]) -> int:
        statement = select(func.count()).select_from(self.model).where(*where)
        return int(self.session.scalar(statement) or 0)

    def add(self, obj: M, *, flush: bool = True) -> M:
        self.session.add(obj)
        if flush:
            self.session.flush()
        return obj

    def delete(self, obj: M, *, flush: bool = True) -> None:
        self.session.delete(obj)
        if flush:
            self.session.flush()


def grouped_ids(
    session: Session, key: ColumnElement[str], value: ColumnElement[str], keys: Iterable[str]
) -> dict[str, builtins.list[str]]:
    """For each of ``keys``, the ``value`` ids a link table pairs it with, in id order."""
    out: dict[str, builtins.list[str]] = {k: [] for k in keys}
    if out:
        for k, v in session.execute(select(key, value).where(key.in_(out)).order_by(value)):
            out[k].append(v)
    return out


__all__ = ["MAX_LIMIT", "NotFound", "Page", "Repository", "grouped_ids"]
