"""Schemas and helpers every resource shares: pages, partial (PATCH) models, ids."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import phonenumbers
from fastapi import Path
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from olive.controls import CONTROL_CLASS, NO_CONTROL_PATTERN
from olive.store import Base, NotFound, Repository
from olive.store import Page as StorePage

T = TypeVar("T")
M = TypeVar("M", bound=Base)
S = TypeVar("S", bound=BaseModel)

_ID = re.compile(r"[a-z]{2,8}_[0-9A-HJKMNP-TV-Z]{26}")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items``, how many match in all, and whether more follow."""

    items: list[T]
    total: int = Field(ge=0)
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)
    has_more: bool

    @classmethod
    def build(cls, page: StorePage[Any], items: list[T]) -> Page[T]:
        return cls(items=items, total=page.total, limit=page.limit, offset=page.offset, has_more=page.has_more)


class Out(BaseModel):
    """A resource as the API returns it (read from the ORM row)."""

    model_config = ConfigDict(from_attributes=True)


class Stamped(Out):
    id: str = Field(description="stable string id with a type prefix, e.g. plan_01J...")
    created_at: datetime
    updated_at: datetime


def path_id(kind: str) -> Any:
    return Path(description=f"the {kind}'s id", max_length=64)


def get_or_404(repo: Repository[M], id: str, **options: Any) -> M:
    """The row, or NotFound (404) for an unknown id; an id of the wrong shape is unknown too."""
    if _ID.fullmatch(id) is None:
        raise NotFound(repo.kind, id)
    return repo.get_or_raise(id, **options)


def well_formed_id(id: str) -> bool:
    return _ID.fullmatch(id) is not None


def _region(value: str) -> str:
    upper = value.upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a region phone numbers are known for (ISO 3166 alpha-2, e.g. US, GB)")
    return upper


def _json_object(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError:
        raise ValueError("numbers must be finite (no NaN or Infinity)") from None
    if "\\u0000" in text:
        raise ValueError("must not contain NUL characters")
    if len(text) > 65_536:
        raise ValueError("is too large (at most 64 KiB of JSON)")
    return value


#: Free text that ends up in Asterisk or in logs: no control characters.
PlainText = Annotated[str, Field(pattern=NO_CONTROL_PATTERN)]
Region = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2, e.g. US"), AfterValidator(_region)]
JsonObject = Annotated[dict[str, Any] | None, AfterValidator(_json_object)]
IdRef = Annotated[str, Field(min_length=1, max_length=64, description="an id")]
#: An id in a query filter: letters, digits and ``_``.
ID_PATTERN = r"^[A-Za-z0-9_]{1,64}$"
#: A name in a query filter.
TEXT_PATTERN = rf"^[^{CONTROL_CLASS}]{{1,200}}$"


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def partial_model(
    model: type[BaseModel], name: str, *, exclude: Iterable[str] = (), extra: Mapping[str, Any] | None = None
) -> type[BaseModel]:
    """A PATCH model: ``model``'s fields, each optional, with the same constraints.

    An absent field is left as it is; ``null`` is accepted only where the full
    model accepts it. The merged result is validated with the full model.
    """
    skip = set(exclude)
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        if field_name in skip:
            continue
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        fields[field_name] = (
            annotation,
            Field(default=None, description=info.description, json_schema_extra=_drop_default),
        )
    fields.update(extra or {})
    created: type[BaseModel] = create_model(
        name, __config__=ConfigDict(extra="forbid"), **fields
    )
    return created


def validate_merged(model: type[S], data: Mapping[str, Any]) -> S:
    """Validate a resource after a PATCH; problems are reported as body fields (422)."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


__all__ = [
    "ID_PATTERN",
    "TEXT_PATTERN",
    "IdRef",
    "JsonObject",
    "Out",
    "Page",
    "PlainText",
    "Region",
    "Stamped",
    "get_or_404",
    "partial_model",
    "path_id",
    "validate_merged",
    "well_formed_id",
]
