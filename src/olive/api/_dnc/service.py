"""Do-not-call lists. Services flush but never commit; the request owns the transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from olive.api._deps import Paging
from olive.api._dnc.schemas import DncCreate, DncImportReport, DncLookup
from olive.api._errors import ErrorDetail
from olive.api._schemas import get_or_404, well_formed_id
from olive.compliance import DncImportRefused, import_dnc, normalize_dnc, parse_dnc_csv
from olive.contacts_import import ImportRefused
from olive.errors import Invalid
from olive.store import CampaignRepository, DncNumber, DncRepository, Page


def campaign_ref(session: Session, campaign_id: str | None, field: str = "campaign_id") -> str | None:
    if campaign_id is None:
        return None
    found = CampaignRepository(session).get(campaign_id) if well_formed_id(campaign_id) else None
    if found is None:
        raise Invalid(f"no campaign with id {campaign_id!r}", field=field)
    return found.id


def e164(number: str, region: str, field: str = "number") -> str:
    try:
        return normalize_dnc(number, region)
    except ValueError as exc:
        raise Invalid(str(exc), field=field) from None


def list_entries(
    session: Session, paging: Paging, *, campaign_id: str | None, scope: str | None, number: str | None, region: str
) -> Page[DncNumber]:
    return DncRepository(session).search(
        campaign_id=campaign_id, scope=scope, number=None if number is None else e164(number, region),
        limit=paging.limit, offset=paging.offset,
    )


def add(session: Session, body: DncCreate) -> tuple[DncNumber, bool]:
    """The entry, and whether it is new."""
    campaign_id = campaign_ref(session, body.campaign_id)
    number = e164(body.number, body.region)
    repo = DncRepository(session)
    existing = repo.match(number, campaign_id)
    if existing is not None and existing.campaign_id == campaign_id:
        return existing, False
    return repo.add_number(number, campaign_id=campaign_id, source="api", note=body.note), True


def import_csv(session: Session, body: bytes, *, campaign_id: str | None, region: str, skip_invalid: bool) -> DncImportReport:
    scope = campaign_ref(session, campaign_id)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the CSV is not UTF-8", field="body") from None
    try:
        entries, errors = parse_dnc_csv(text, region, skip_invalid=skip_invalid)
    except DncImportRefused as exc:
        raise ImportRefused(exc.errors) from None
    if not entries and not errors:
        raise Invalid("the CSV holds no numbers", field="body")
    report = import_dnc(session, entries, campaign_id=scope, source="api import", errors=errors)
    return DncImportReport(
        read=report.read,
        added=report.added,
        already=report.already,
        skipped=[ErrorDetail(location="row", row=e.line, field=e.field, reason=e.reason) for e in report.errors],
    )


def lookup(session: Session, number: str, campaign_id: str | None, region: str) -> DncLookup:
    scope = campaign_ref(session, campaign_id)
    value = e164(number, region)
    hit = DncRepository(session).match(value, scope)
    return DncLookup(
        number=value,
        blocked=hit is not None,
        list=None if hit is None else ("global" if hit.campaign_id is None else "campaign"),
        entry_id=None if hit is None else hit.id,
    )


def get(session: Session, dnc_id: str) -> DncNumber:
    return get_or_404(DncRepository(session), dnc_id)


def delete(session: Session, dnc_id: str) -> None:
    DncRepository(session).delete(get(session, dnc_id))


__all__ = ["add", "campaign_ref", "delete", "e164", "get", "import_csv", "list_entries", "lookup"]
