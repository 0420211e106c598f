"""Dial lists as the API takes and returns them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from olive.api._schemas import Region, Stamped, partial_model
from olive.specs import Name


class DialListCreate(BaseModel):
    """A new, empty dial list. National numbers in it are read in ``default_region``."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    default_region: Region = "US"
    numbering: Literal["e164", "private"] = Field(
        "e164",
        description="e164: numbers are checked for their country and stored as E.164; private: a private "
        "numbering plan (lab or internal extensions such as 1001), only digits, * and # (leading + allowed), "
        "not checked against any country",
    )


class DialListUpdate(partial_model(DialListCreate, "DialListUpdateFields")):  # type: ignore[misc]
    """Fields to change. A new ``default_region`` applies to contacts added from then on."""


class DialListOut(Stamped):
    name: str
    default_region: str
    numbering: str
    contact_count: int = Field(ge=0)
    campaign_ids: list[str] = Field(description="campaigns that dial this list")


__all__ = ["DialListCreate", "DialListOut", "DialListUpdate"]
