"""contact_counts: the campaign report's contacts by status, kept by database triggers.

Every way contacts change (ORM, bulk insert, claim and release, delete,
a dial list's cascade) must leave the counts equal to counting the contacts.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from olive.store import (
    Contact,
    ContactRow,
    DialList,
    claim_contact,
    contact_status_counts,
    import_contacts,
    release_contact,
)

from .conftest import Factory


def counted(session: Session, list_ids: list[str]) -> dict[str, int]:
    """What the report's counts must equal: the contacts themselves, grouped."""
    rows = session.execute(
        select(Contact.status, func.count()).where(Contact.dial_list_id.in_(list_ids)).group_by(Contact.status)
    )
    return {status: int(n) for status, n in rows}


def test_counts_follow_every_kind_of_change(session: Session, factory: Factory) -> None:
    first, second = factory.dial_list(), factory.dial_list()
    campaign = factory.campaign(dial_lists=[first, second])
    lists = [first.id, second.id]
    assert contact_status_counts(session, campaign.id) == {}

    ids = import_contacts(session, first.id, [ContactRow(numbers=[f"+1555000{i:04d}"]) for i in range(30)])
    factory.contact(second, status="done")
    factory.contact(second, numbers=["+15559990000"])
    assert contact_status_counts(session, campaign.id) == {"pending": 31, "done": 1} == counted(session, lists)

    assert claim_contact(session, ids[0], "call_1") and claim_contact(session, ids[1], "call_2")
    release_contact(session, ids[1], "call_2", status="exhausted")
    session.execute(update(Contact).where(Contact.id.in_(ids[2:5])).values(status="dnc"))
    loaded = session.get(Contact, ids[5])
    assert loaded is not None
    loaded.status = "done"  # the ORM's own UPDATE
    session.execute(update(Contact).where(Contact.id == ids[6]).values(attempts=3))  # no status change
    session.execute(delete(Contact).where(Contact.id.in_(ids[7:10])))
    session.flush()
    expected = {"pending": 22, "dialing": 1, "exhausted": 1, "dnc": 3, "done": 2}
    assert contact_status_counts(session, campaign.id) == expected == counted(session, lists)

    session.commit()
    other = Session(bind=session.get_bind())
    try:
        assert contact_status_counts(other, campaign.id) == expected  # committed with the changes
    finally:
        other.close()

    session.execute(delete(DialList).where(DialList.id == second.id))  # its contacts go by cascade
    session.flush()
    assert contact_status_counts(session, campaign.id) == {"pending": 21, "dialing": 1, "exhausted": 1, "dnc": 3, "done": 1}


def test_a_rolled_back_change_leaves_the_counts(session: Session, factory: Factory) -> None:
    dial_list = factory.dial_list()
    campaign = factory.campaign(dial_lists=[dial_list])
    contact = factory.contact(dial_list)
    session.commit()
    session.execute(update(Contact).where(Contact.id == contact.id).values(status="done"))
    assert contact_status_counts(session, campaign.id) == {"done": 1}
    session.rollback()
    assert contact_status_counts(session, campaign.id) == {"pending": 1}
