"""The unit leases on SQLite: one writer at a time, so the same statements hold without row locks.

(SQLite serves one node; these check the statements run and decide alike there.
Concurrency, SKIP LOCKED and the fence's share lock are PostgreSQL's: test_units.py.)
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from olive.store import claim_contacts, make_engine, make_sessionmaker

from .conftest import Factory
from .test_units import T0, TTL, acquire, campaigns
from .test_units import TestLeases as _Leases
from .test_units import TestServersAndNodes as _ServersAndNodes


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


class TestServersAndNodesOnSqlite(_ServersAndNodes):
    pass


class TestLeasesOnSqlite(_Leases):
    def test_the_fence_holds_a_takeover_back_until_the_owner_commits(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory, db_url: str
    ) -> None:
        """SQLite: the owner's open write transaction keeps every other writer out, takeovers included."""
        campaigns(factory, session, 1, ("pbx-a",), contacts=3)
        (lease,) = acquire(session_factory, "a", T0)
        impatient = make_engine(db_url, busy_timeout_ms=100)
        try:
            owner = session_factory()
            with owner.begin():
                assert len(claim_contacts(owner, lease, 2, at=T0 + 3)) == 2
                with pytest.raises(OperationalError, match="database is locked"):
                    acquire(make_sessionmaker(impatient), "b", T0 + TTL + 1)
            owner.close()
            (taken,) = acquire(make_sessionmaker(impatient), "b", T0 + TTL + 1)
            assert taken.token == 2
        finally:
            impatient.dispose()
