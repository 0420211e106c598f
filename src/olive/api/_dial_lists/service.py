"""Dial lists: create, read, change and delete. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from olive.api._deps import Paging
from olive.api._dial_lists.schemas import DialListCreate, DialListOut
from olive.api._schemas import get_or_404, validate_merged
from olive.errors import Conflict
from olive.store import DialList, DialListRepository, Page


def list_dial_lists(session: Session, paging: Paging, *, name: str | None) -> Page[DialList]:
    return DialListRepository(session).list_by(
        {"name": name}, order_by=("created_at",), limit=paging.limit, offset=paging.offset
    )


def get(session: Session, dial_list_id: str) -> DialList:
    return get_or_404(DialListRepository(session), dial_list_id)


def create(session: Session, spec: DialListCreate) -> DialList:
    repo = DialListRepository(session)
    _unique_name(repo, spec.name)
    return repo.add(DialList(name=spec.name, default_region=spec.default_region, numbering=spec.numbering))


def update(session: Session, dial_list_id: str, changes: dict[str, Any]) -> DialList:
    repo = DialListRepository(session)
    dial_list = get(session, dial_list_id)
    current = {"name": dial_list.name, "default_region": dial_list.default_region, "numbering": dial_list.numbering}
    spec = validate_merged(DialListCreate, {**current, **changes})
    if spec.name != dial_list.name:
        _unique_name(repo, spec.name)
    dial_list.name, dial_list.default_region, dial_list.numbering = spec.name, spec.default_region, spec.numbering
    session.flush()
    return dial_list


def delete(session: Session, dial_list_id: str) -> None:
    """Delete the list and its contacts; their call records are kept."""
    dial_list = get(session, dial_list_id)
    repo = DialListRepository(session)
    active = repo.campaigns_dialing(dial_list.id, ("running", "paused"))
    if active:
        raise Conflict(f"dial list {dial_list.name} is dialed by running campaign(s) {', '.join(active)}; stop them first")
    dialing = repo.contacts_on_a_call(dial_list.id)
    if dialing:
        raise Conflict(f"dial list {dial_list.name} has {dialing} contact(s) on a call now; try again when they end")
    repo.delete(dial_list)


def to_out(session: Session, lists: Sequence[DialList]) -> list[DialListOut]:
    ids = [d.id for d in lists]
    repo = DialListRepository(session)
    counts, campaigns = repo.contact_counts(ids), repo.campaign_ids(ids)
    return [
        DialListOut(
            id=d.id,
            created_at=d.created_at,
            updated_at=d.updated_at,
            name=d.name,
            default_region=d.default_region,
            numbering=d.numbering,
            contact_count=counts.get(d.id, 0),
            campaign_ids=campaigns[d.id],
        )
        for d in lists
    ]


def _unique_name(repo: DialListRepository, name: str) -> None:
    if repo.get_by_name(name) is not None:
        raise Conflict(f"a dial list named {name!r} already exists", field="name")


__all__ = ["create", "delete", "get", "list_dial_lists", "to_out", "update"]
