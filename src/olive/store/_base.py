"""The declarative base shared by every model, and the column types they use.

Times are stored as timezone-aware UTC datetimes. PostgreSQL keeps them in
``timestamptz``; SQLite has no time zone type, so :class:`UTCDateTime` writes
UTC without an offset and hands back aware UTC datetimes. Naive datetimes are
refused rather than guessed at. The engine, which works in float seconds
since the epoch, converts with :func:`from_epoch` and :func:`to_epoch`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Dialect, MetaData, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from olive.ids import new_id

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSON everywhere, JSONB on PostgreSQL (comparable, indexable).
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def from_epoch(seconds: float) -> datetime:
    """An aware UTC datetime from float seconds since the epoch."""
    return datetime.fromtimestamp(seconds, UTC)


def to_epoch(value: datetime) -> float:
    """Float seconds since the epoch from an aware datetime."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: olive stores timezone-aware UTC times")
    return value.timestamp()


def as_utc(value: datetime | float) -> datetime:
    """Accept an aware datetime or epoch seconds; return an aware UTC datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: olive stores timezone-aware UTC times")
        return value.astimezone(UTC)
    return from_epoch(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: olive stores timezone-aware UTC times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
    }


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def id_column(prefix: str) -> Mapped[str]:
    """A string primary key filled with ``olive.ids.new_id(prefix)``."""
    return mapped_column(String(40), primary_key=True, default=lambda: new_id(prefix))


__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "JSONType",
    "TimestampMixin",
    "UTCDateTime",
    "as_utc",
    "from_epoch",
    "id_column",
    "to_epoch",
    "utcnow",
]
