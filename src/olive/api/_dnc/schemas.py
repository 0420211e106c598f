"""Do-not-call entries as the API takes and returns them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from olive.api._errors import ErrorDetail
from olive.api._schemas import IdRef, PlainText, Region, Stamped

Number = Annotated[PlainText, Field(min_length=1, max_length=64, description="E.164, or national in `region`")]
Scope = Literal["global", "campaign"]


class DncCreate(BaseModel):
    """A number not to call: on the global list, or on one campaign's."""

    model_config = ConfigDict(extra="forbid")

    number: Number
    campaign_id: IdRef | None = Field(default=None, description="the campaign's own list; null: the global list")
    region: Region = "US"
    note: Annotated[PlainText, Field(max_length=1000)] | None = None


class DncOut(Stamped):
    number: str = Field(description="E.164")
    campaign_id: str | None = Field(description="null: the global list")
    source: str | None
    note: str | None


class DncImportReport(BaseModel):
    read: int = Field(description="good rows in the file")
    added: int = Field(description="numbers new to the list")
    already: int = Field(description="numbers the list already had, or repeated in the file")
    skipped: list[ErrorDetail] = Field(default_factory=list, description="bad rows left out (skip_invalid only)")


class DncLookup(BaseModel):
    number: str = Field(description="E.164")
    blocked: bool
    list: Scope | None = Field(description="which list holds it, when blocked")
    entry_id: str | None


#: The CSV an import takes.
IMPORT_CSV_SCHEMA = {
    "type": "string",
    "description": "A header with a `number` (or `phone`) column and an optional `note` column; or one "
    "number per line; or `area code,number` pairs (US National DNC Registry format).",
    "example": "number,note\n(201) 555-0100,asked on the phone\n",
}

__all__ = ["IMPORT_CSV_SCHEMA", "DncCreate", "DncImportReport", "DncLookup", "DncOut", "Number", "Scope"]
