"""contact_counts on PostgreSQL: each statement appends its change, readers fold the rows back.

(SQLite has one writer at a time and keeps one row per list and status.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from olive.store import COMPACT_COUNT_ROWS, Contact, ContactCount, contact_status_counts

from .conftest import Factory

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


def test_postgresql_folds_appended_rows_back(session: Session, factory: Factory) -> None:
    dial_list = factory.dial_list()
    campaign = factory.campaign(dial_lists=[dial_list])
    contact = factory.contact(dial_list)
    session.commit()
    for i in range(COMPACT_COUNT_ROWS + 10):  # each statement appends its change
        status = "done" if i % 2 == 0 else "pending"
        session.execute(update(Contact).where(Contact.id == contact.id).values(status=status))
        session.commit()
    rows = lambda: session.scalar(select(func.count()).select_from(ContactCount).where(ContactCount.dial_list_id == dial_list.id))  # noqa: E731
    assert (rows() or 0) > COMPACT_COUNT_ROWS
    assert contact_status_counts(session, campaign.id) == {"pending": 1}
    session.commit()
    assert (rows() or 0) <= 2  # one per status left, the zero sums dropped
    assert contact_status_counts(session, campaign.id) == {"pending": 1}


def test_postgresql_writers_of_one_list_never_wait_on_the_counts(db_clean: Engine, factory: Factory, session: Session) -> None:
    dial_list = factory.dial_list()
    campaign = factory.campaign(dial_lists=[dial_list])
    a, b = factory.contact(dial_list), factory.contact(dial_list, numbers=["+15551230002"])
    session.commit()
    with db_clean.connect() as first, db_clean.connect() as second:
        first.execute(update(Contact).where(Contact.id == a.id).values(status="done"))  # left open
        second.execute(text("SET lock_timeout = '2s'"))
        second.execute(update(Contact).where(Contact.id == b.id).values(status="dnc"))
        second.execute(ContactCount.__table__.insert().values(dial_list_id=dial_list.id, status="x", n=0))
        second.commit()  # neither waited for the open transaction
        first.commit()
    assert contact_status_counts(session, campaign.id) == {"done": 1, "dnc": 1}
