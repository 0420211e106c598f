"""Contacts as the API takes and returns them.

Input is checked by :mod:`olive.contacts_import`, the same rules as bulk
imports and campaign files: numbers to E.164 with the list's default region,
known time zones, variable names usable in the dialplan, no line breaks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from olive.api._schemas import Out, PlainText, Stamped, partial_model

MAX_TEXT = 200

Phone = Annotated[str, Field(min_length=1, max_length=64, description="E.164, or national in the list's region")]
VariableName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
VariableValue = Annotated[PlainText, Field(max_length=1000)]


class ContactCreate(BaseModel):
    """A contact: numbers are tried in order."""

    model_config = ConfigDict(extra="forbid")

    phones: list[Phone] = Field(min_length=1, max_length=10)
    name: Annotated[PlainText, Field(max_length=MAX_TEXT)] | None = None
    external_ref: Annotated[PlainText, Field(max_length=MAX_TEXT, description="your id; unique in the list")] | None = None
    timezone: Annotated[PlainText, Field(max_length=64, description="IANA, e.g. America/Chicago")] | None = None
    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict, max_length=100, description="passed to the dialplan as OLIVE_VAR_<NAME>"
    )


class ContactUpdate(
    partial_model(  # type: ignore[misc]
        ContactCreate,
        "ContactUpdateFields",
        extra={
            "status": (
                Literal["pending", "done", "exhausted", "dnc"] | None,
                Field(default=None, description="pending: dial again (as soon as due); done, exhausted, dnc: never"),
            )
        },
    )
):
    """Fields to change. New ``phones`` replace the numbers (and their attempt counts).
    Refused (409) while the contact is on a call."""


class NumberOut(Out):
    id: str
    position: int
    number: str = Field(description="E.164")
    attempts: int
    last_outcome: str | None
    last_attempt_at: datetime | None


class ContactOut(Stamped):
    dial_list_id: str
    external_ref: str | None
    name: str | None
    timezone: str | None
    variables: dict[str, Any]
    status: Literal["pending", "dialing", "done", "exhausted", "dnc"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="when it is due again (null: not tried yet)")
    last_outcome: str | None
    active_call_id: str | None
    numbers: list[NumberOut]


class ImportReport(BaseModel):
    dial_list_id: str
    imported: int = Field(description="contacts added (every row: imports are all or nothing)")
    contact_count: int = Field(description="contacts in the list now")


#: The JSON import body, for the OpenAPI schema; rows are checked one by one, as in CSV.
IMPORT_JSON_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "One object per contact: `phones` (list) or `phone`, `phone1`, ... columns, and optional "
    "`name`, `external_ref`, `timezone`, `variables` (object). Other keys become variables.",
    "items": {
        "type": "object",
        "properties": {
            "phones": {"type": "array", "items": {"type": "string"}},
            "phone": {"type": "string"},
            "name": {"type": "string"},
            "external_ref": {"type": "string"},
            "timezone": {"type": "string"},
            "variables": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}
IMPORT_CSV_SCHEMA: dict[str, Any] = {
    "type": "string",
    "description": "A header row, then one contact per row: `phone` (or `phone1`, `phone2`, ..., or `phones` "
    "separated by `;`), optional `name`, `external_ref`, `timezone`; other columns become variables.",
    "example": "phone,name,external_ref,account\n+15551230001,Ada,A-1,42\n(555) 123-0002,Bob,B-2,43\n",
}


__all__ = [
    "IMPORT_CSV_SCHEMA",
    "IMPORT_JSON_SCHEMA",
    "ContactCreate",
    "ContactOut",
    "ContactUpdate",
    "ImportReport",
    "NumberOut",
]
