"""A unit's live figures in ``unit_live`` (issue 15, "a campaign's live figures on any node"), on PostgreSQL.

Only the unit's lease holder writes them (fenced like every write for a unit);
read back, each row says how old it is and whether its writer still holds the
unit, both by the database's clock. Times are passed in (``at``) so ages and
expiries are exact.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from olive.store import (
    ServerLimits,
    StaleLease,
    UnitLive,
    acquire_units,
    publish_unit_live,
    register_servers,
    release_units,
    set_campaign_servers,
    transaction,
    unit_live,
)

from .conftest import Factory

pytestmark = pytest.mark.postgres

T0 = 1_790_000_000.0
TTL = 6.0


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


def campaign_on(session: Session, *servers: str) -> str:
    register_servers(session, {name: ServerLimits() for name in servers})
    campaign = Factory(session).campaign(status="running", server=servers[0])
    set_campaign_servers(session, campaign.id, list(servers))
    return campaign.id


def test_the_holder_publishes_and_any_node_reads_them_back_with_their_age(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        cid = campaign_on(s, "pbx-a", "pbx-b")
        (lease,) = acquire_units(s, "node-a", TTL, limit=1, at=T0)
    assert lease.server == "pbx-a"
    with transaction(session_factory) as s:
        publish_unit_live(s, lease, {"note": "dialing", "counters": {"dials": 3}}, at=T0 + 1)
    with transaction(session_factory) as s:  # written over, not added
        publish_unit_live(s, lease, {"note": "dialing", "counters": {"dials": 5}}, at=T0 + 3)
    with transaction(session_factory) as s:
        (row,) = unit_live(s, [cid], at=T0 + 4.5)
        assert s.scalar(select(func.count()).select_from(UnitLive)) == 1
    assert (row.campaign_id, row.server, row.node, row.token) == (cid, "pbx-a", "node-a", lease.token)
    assert row.figures == {"note": "dialing", "counters": {"dials": 5}}
    assert row.live_at == T0 + 3
    assert row.age_s == pytest.approx(1.5)
    assert row.held and row.owner_node == "node-a"


def test_a_node_whose_lease_was_taken_writes_no_figures(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        cid = campaign_on(s, "pbx-a")
        (old,) = acquire_units(s, "node-a", TTL, limit=1, at=T0)
    with transaction(session_factory) as s:
        publish_unit_live(s, old, {"note": "from node-a"}, at=T0 + 1)
    # node-a's lease runs out; node-b takes the unit (a new token) and publishes.
    with transaction(session_factory) as s:
        (new,) = acquire_units(s, "node-b", TTL, limit=1, at=T0 + TTL + 1)
    assert new.token == old.token + 1
    with transaction(session_factory) as s:
        publish_unit_live(s, new, {"note": "from node-b"}, at=T0 + TTL + 2)
    # node-a wakes believing it still owns the unit: refused, and node-b's figures stand.
    with pytest.raises(StaleLease), transaction(session_factory) as s:
        publish_unit_live(s, old, {"note": "from node-a, late"}, at=T0 + TTL + 3)
    with transaction(session_factory) as s:
        (row,) = unit_live(s, [cid], at=T0 + TTL + 3)
    assert (row.node, row.token, row.figures) == ("node-b", new.token, {"note": "from node-b"})
    assert row.held


def test_a_lease_that_ran_out_refuses_the_first_figures_too(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        cid = campaign_on(s, "pbx-a")
        (lease,) = acquire_units(s, "node-a", TTL, limit=1, at=T0)
    with pytest.raises(StaleLease), transaction(session_factory) as s:
        publish_unit_live(s, lease, {"note": "too late"}, at=T0 + TTL)
    with transaction(session_factory) as s:
        assert unit_live(s, [cid], at=T0 + TTL) == []


def test_each_row_says_whether_its_writer_still_holds_the_unit(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        cid = campaign_on(s, "pbx-a", "pbx-b")
        leases = acquire_units(s, "node-a", TTL, limit=2, at=T0)
    for lease in leases:
        with transaction(session_factory) as s:
            publish_unit_live(s, lease, {"server": lease.server}, at=T0 + 1)
    with transaction(session_factory) as s:  # pbx-b handed over cleanly: nobody holds it
        release_units(s, [lease for lease in leases if lease.server == "pbx-b"])
    with transaction(session_factory) as s:
        now = {r.server: r for r in unit_live(s, at=T0 + 2)}
        later = {r.server: r for r in unit_live(s, at=T0 + TTL + 1)}  # pbx-a's lease ran out meanwhile
    assert (now["pbx-a"].held, now["pbx-a"].owner_node) == (True, "node-a")
    assert (now["pbx-b"].held, now["pbx-b"].owner_node) == (False, None)
    assert (later["pbx-a"].held, later["pbx-a"].owner_node, later["pbx-a"].age_s) == (False, "node-a", TTL)
    assert [r.campaign_id for r in now.values()] == [cid, cid]


def test_a_units_figures_go_with_the_unit(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        cid = campaign_on(s, "pbx-a", "pbx-b")
        leases = acquire_units(s, "node-a", TTL, limit=2, at=T0)
    for lease in leases:
        with transaction(session_factory) as s:
            publish_unit_live(s, lease, {}, at=T0 + 1)
    with transaction(session_factory) as s:
        set_campaign_servers(s, cid, ["pbx-a"])  # the campaign no longer dials through pbx-b
    with transaction(session_factory) as s:
        assert [r.server for r in unit_live(s, at=T0 + 2)] == ["pbx-a"]
