"""Units of work with fenced leases, nodes and the server pool, on PostgreSQL (issue 15).

Several "nodes" here are threads with their own connections, or sessions
taken in turn; times are passed in (``at``) so expiry is exact, except in
the one test that uses the database's own clock.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from olive.store import (
    DOWN_HOLDS_S,
    Call,
    Contact,
    ServerLimits,
    StaleLease,
    UnitLease,
    acquire_units,
    claim_contact_for_unit,
    claim_contacts,
    fair_share,
    fence,
    heartbeat_node,
    live_nodes,
    open_claims,
    record_server_view,
    register_node,
    register_servers,
    release_units,
    renew_units,
    reserve_dials,
    servers,
    set_campaign_servers,
    transaction,
    units,
)

from .conftest import Factory

pytestmark = pytest.mark.postgres

T0 = 1_790_000_000.0
TTL = 6.0


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


def pool(session: Session, *names: str) -> None:
    register_servers(session, {n: ServerLimits(max_channels=100, max_cps=10.0) for n in names})


def campaigns(factory: Factory, session: Session, n: int, server_names: tuple[str, ...] = ("pbx-a", "pbx-b"),
              contacts: int = 0) -> list[str]:
    """``n`` running campaigns on every server of ``server_names`` (n x servers units), with contacts."""
    pool(session, *server_names)
    ids = []
    for i in range(n):
        dial_list = factory.dial_list()
        for k in range(contacts):
            factory.contact(dial_list, numbers=[f"+1555{i:03d}{k:04d}"])
        campaign = factory.campaign(dial_lists=[dial_list], status="running")
        set_campaign_servers(session, campaign.id, list(server_names))
        ids.append(campaign.id)
    session.commit()
    return ids


def acquire(sessions: sessionmaker[Session], node: str, at: float, limit: int = 100) -> list[UnitLease]:
    with transaction(sessions) as s:
        return acquire_units(s, node, TTL, limit=limit, at=at)


def renew(sessions: sessionmaker[Session], leases: list[UnitLease], at: float) -> list[UnitLease]:
    with transaction(sessions) as s:
        return renew_units(s, leases, TTL, at=at)


class TestServersAndNodes:
    def test_servers_keep_their_limits_and_health(self, session: Session) -> None:
        register_servers(session, {"pbx-a": ServerLimits(200, 25.0), "pbx-b": ServerLimits()})
        register_servers(session, {"pbx-a": ServerLimits(300, 30.0)})  # a node with newer settings
        record_server_view(session, "pbx-b", "node-1", "down", "connection refused", at=T0)
        got = {s.name: (s.max_channels, s.max_cps, s.health, s.health_note) for s in servers(session)}
        assert got == {"pbx-a": (300, 30.0, "unknown", None), "pbx-b": (None, None, "down", "connection refused")}

    @pytest.mark.parametrize("limits", [ServerLimits(max_channels=0), ServerLimits(max_cps=-1.0), ServerLimits(max_cps=float("nan"))])
    def test_a_limit_must_be_above_zero(self, session: Session, limits: ServerLimits) -> None:
        with pytest.raises(ValueError, match="must be above 0"):
            register_servers(session, {"pbx-a": limits})

    def test_health_of_an_unknown_server_or_an_unknown_health_is_refused(self, session: Session) -> None:
        pool(session, "pbx-a")
        with pytest.raises(LookupError, match="no server 'pbx-z'"):
            record_server_view(session, "pbx-z", "node-1", "up")
        with pytest.raises(ValueError, match="one of unknown, up, down"):
            record_server_view(session, "pbx-a", "node-1", "sideways")

    def test_one_live_process_per_node_name(self, session_factory: sessionmaker[Session]) -> None:
        with transaction(session_factory) as s:
            assert register_node(s, "node-1", "first", TTL, at=T0)
            assert not register_node(s, "node-1", "second", TTL, at=T0 + 1), "the first still lives"
            assert heartbeat_node(s, "node-1", "first", TTL, at=T0 + 2)
            assert not heartbeat_node(s, "node-1", "second", TTL, at=T0 + 2)
            assert not register_node(s, "node-1", "second", TTL, at=T0 + 2 + TTL - 0.001)
            assert register_node(s, "node-1", "second", TTL, at=T0 + 2 + TTL), "the first died"
            assert not heartbeat_node(s, "node-1", "first", TTL, at=T0 + 9), "the old process is not it any more"
            assert [n.instance for n in live_nodes(s, at=T0 + 9)] == ["second"]
            assert live_nodes(s, at=T0 + 2 + 2 * TTL) == []

    def test_a_campaign_dials_only_through_servers_of_the_pool(self, session: Session, factory: Factory) -> None:
        pool(session, "pbx-a")
        campaign = factory.campaign(status="running")
        with pytest.raises(LookupError, match="no server 'pbx-z'"):
            set_campaign_servers(session, campaign.id, ["pbx-a", "pbx-z"])
        with pytest.raises(ValueError, match="at least one server"):
            set_campaign_servers(session, campaign.id, [])


class TestLeases:
    def test_a_live_owner_keeps_its_units_and_a_successor_takes_them_when_they_expire(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 2)
        a = acquire(session_factory, "a", T0)
        assert len(a) == 4 and {lease.token for lease in a} == {1}
        assert acquire(session_factory, "b", T0 + 1) == [], "all four are a's"
        a = renew(session_factory, a, T0 + 2)
        assert len(a) == 4 and all(lease.expires_at == T0 + 2 + TTL for lease in a)
        assert acquire(session_factory, "b", T0 + 2 + TTL - 0.001) == []
        b = acquire(session_factory, "b", T0 + 2 + TTL)  # a died after its renewal at T0+2
        assert len(b) == 4 and {lease.token for lease in b} == {2}, "a new owner, a new fencing token"
        assert renew(session_factory, a, T0 + 2 + TTL) == [], "the old owner's renewal is refused"
        assert {(u.owner_node, u.token) for u in units(session)} == {("b", 2)}

    def test_a_lease_that_ran_out_is_not_renewed_even_if_nobody_took_it(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 1, ("pbx-a",))
        a = acquire(session_factory, "a", T0)
        assert renew(session_factory, a, T0 + TTL) == []
        again = acquire(session_factory, "a", T0 + TTL)
        assert [lease.token for lease in again] == [2], "taken again like anyone would: a new token"

    def test_a_stale_owners_writes_are_refused_and_leave_nothing(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        (cid,) = campaigns(factory, session, 1, ("pbx-a",), contacts=4)
        (old,) = acquire(session_factory, "a", T0)
        (new,) = acquire(session_factory, "b", T0 + TTL + 1)
        for write in (
            lambda s: claim_contacts(s, old, 2, at=T0 + TTL + 1),
            lambda s: claim_contact_for_unit(s, old, s.scalars(select(Contact.id)).first() or "", "call_x", at=T0 + TTL + 1),
            lambda s: fence(s, old, at=T0 + 1),  # even by its own (slow) clock: the token is old
        ):
            with pytest.raises(StaleLease, match="token 1 of node a is no longer"), transaction(session_factory) as s:
                write(s)
        session.expire_all()
        assert session.scalars(select(Contact).where(Contact.active_call_id.is_not(None))).all() == []
        with transaction(session_factory) as s:
            got = claim_contacts(s, new, 2, at=T0 + TTL + 1)
        assert len(got) == 2
        with transaction(session_factory) as s:
            assert sorted(open_claims(s, cid, "pbx-a"), key=lambda c: c.contact_id) == sorted(got, key=lambda c: c.contact_id)
            rows = s.scalars(select(Contact).where(Contact.active_call_id.is_not(None))).all()
            assert {(c.claim_server, c.claim_token, c.status) for c in rows} == {("pbx-a", 2, "dialing")}

    def test_an_owner_near_its_expiry_is_refused_by_the_margin(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 1, ("pbx-a",), contacts=1)
        (lease,) = acquire(session_factory, "a", T0)
        with pytest.raises(StaleLease), transaction(session_factory) as s:
            claim_contacts(s, lease, 1, at=T0 + TTL - 1, margin_s=2)
        with transaction(session_factory) as s:
            assert len(claim_contacts(s, lease, 1, at=T0 + TTL - 3, margin_s=2)) == 1

    def test_release_hands_units_over_at_once(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 1)
        a = acquire(session_factory, "a", T0)
        with transaction(session_factory) as s:
            assert release_units(s, a) == 2
            assert release_units(s, a) == 0
        b = acquire(session_factory, "b", T0 + 1)
        assert [lease.token for lease in b] == [2, 2]

    def test_the_fence_holds_a_takeover_back_until_the_owner_commits(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 1, ("pbx-a",), contacts=3)
        (lease,) = acquire(session_factory, "a", T0)
        owner = session_factory()
        try:
            with owner.begin():
                claims = claim_contacts(owner, lease, 2, at=T0 + 3)  # fenced: valid then
                # The lease runs out while the owner's transaction is open: the row is share-locked.
                assert acquire(session_factory, "b", T0 + TTL + 1) == [], "skipped, not taken under the owner"
            (taken,) = acquire(session_factory, "b", T0 + TTL + 1)
        finally:
            owner.close()
        assert taken.token == 2
        with transaction(session_factory) as s:
            assert {c.contact_id for c in open_claims(s, lease.campaign_id, "pbx-a")} == {c.contact_id for c in claims}, (
                "the successor sees what the old owner committed, and adopts it"
            )

    def test_units_on_a_server_that_is_down_are_not_taken(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 2)
        record_server_view(session, "pbx-b", "node-1", "down", at=T0)
        session.commit()
        assert {lease.server for lease in acquire(session_factory, "a", T0)} == {"pbx-a"}

    def test_a_down_left_by_an_owner_that_is_gone_stops_holding_the_servers_units_back(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        # The owner of pbx-b's units wrote "down" and died: nobody else reaches pbx-b to write "up",
        # so the "down" must not keep its units from being taken for ever.
        campaigns(factory, session, 2)
        record_server_view(session, "pbx-b", "node-gone", "down", "AMI connection lost; reconnecting", at=T0)
        session.commit()
        assert {lease.server for lease in acquire(session_factory, "a", T0 + DOWN_HOLDS_S - 1)} == {"pbx-a"}
        assert "pbx-b" in {lease.server for lease in acquire(session_factory, "b", T0 + DOWN_HOLDS_S + 1)}

    def test_a_node_may_skip_servers_or_take_only_some(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        # A node that cannot reach pbx-b while others can skips it; one that reaches it takes what
        # the blind node handed over there, and only that (engine/_blind.py).
        campaigns(factory, session, 2, ("pbx-a", "pbx-b", "pbx-c"))
        with transaction(session_factory) as s:
            skipped = acquire_units(s, "a", TTL, limit=100, at=T0, skip_servers=["pbx-b"])
            assert {lease.server for lease in skipped} == {"pbx-a", "pbx-c"}
            assert acquire_units(s, "b", TTL, limit=100, at=T0, only_servers=[]) == []
            only = acquire_units(s, "b", TTL, limit=100, at=T0, only_servers=["pbx-b"])
            assert [lease.server for lease in only] == ["pbx-b", "pbx-b"]

    def test_units_of_campaigns_not_running_are_not_taken(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        pool(session, "pbx-a")
        for status in ("stopped", "finished"):
            set_campaign_servers(session, factory.campaign(status=status).id, ["pbx-a"])
        session.commit()
        assert acquire(session_factory, "a", T0) == []

    def test_the_fair_share_divides_the_units_over_the_live_nodes(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 5)  # 10 units
        with transaction(session_factory) as s:
            for name in ("n1", "n2", "n3"):
                register_node(s, name, name, TTL, at=T0)
            assert fair_share(s, at=T0 + 1) == 4
            assert fair_share(s, at=T0 + TTL) == 10, "no live node: one takes them all"

    def test_the_database_clock_when_no_time_is_given(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 1, ("pbx-a",))
        with transaction(session_factory) as s:
            (lease,) = acquire_units(s, "a", 0.5, limit=5)
        assert abs(lease.expires_at - (time.time() + 0.5)) < 5  # the database's clock, close to ours
        with transaction(session_factory) as s:
            assert acquire_units(s, "b", 0.5, limit=5) == []
        time.sleep(0.6)
        with transaction(session_factory) as s, pytest.raises(StaleLease):
            fence(s, lease)
        with transaction(session_factory) as s:
            assert [taken.token for taken in acquire_units(s, "b", 0.5, limit=5)] == [2]


class TestRaces:
    def test_racing_nodes_share_the_units_and_none_gets_one_twice(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 6)  # 12 units
        nodes = [f"n{i}" for i in range(4)]
        barrier = threading.Barrier(len(nodes))
        got: dict[str, list[UnitLease]] = {}

        def race(node: str) -> None:
            barrier.wait()
            got[node] = acquire(session_factory, node, T0, limit=5)

        threads = [threading.Thread(target=race, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        taken = Counter(lease.key for leases in got.values() for lease in leases)
        assert len(taken) == sum(len(v) for v in got.values()), f"a unit went to two nodes: {taken}"
        assert len(taken) == 12, "with SKIP LOCKED nobody waits and 4 x 5 slots cover the 12 units"
        owners = {(u.campaign_id, u.server): u.owner_node for u in units(session)}
        assert all(owners[lease.key] == node for node, leases in got.items() for lease in leases)

    def test_two_servers_claiming_one_campaigns_contacts_never_claim_one_twice(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        (cid,) = campaigns(factory, session, 1, ("pbx-a", "pbx-b"), contacts=120)
        leases = {lease.server: lease for lease in acquire(session_factory, "a", T0, limit=1)}
        leases |= {lease.server: lease for lease in acquire(session_factory, "b", T0)}
        assert sorted(leases) == ["pbx-a", "pbx-b"]
        claimed: dict[str, list[str]] = {"pbx-a": [], "pbx-b": []}
        barrier = threading.Barrier(2)

        def claimer(server: str) -> None:
            barrier.wait()
            while True:
                with transaction(session_factory) as s:
                    batch = claim_contacts(s, leases[server], 7, at=T0 + 1)
                if not batch:
                    return
                claimed[server] += [c.contact_id for c in batch]

        threads = [threading.Thread(target=claimer, args=(server,)) for server in claimed]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        both = claimed["pbx-a"] + claimed["pbx-b"]
        assert len(both) == len(set(both)) == 120, "every contact claimed once, by one server"
        assert claimed["pbx-a"] and claimed["pbx-b"], "both servers got work (SKIP LOCKED: no one waits)"
        with transaction(session_factory) as s:
            for server in claimed:
                assert {c.contact_id for c in open_claims(s, cid, server)} == set(claimed[server])


def open_calls_on(session: Session, campaign_id: str, server: str, n: int) -> None:
    for _ in range(n):
        session.add(Call(campaign_id=campaign_id, contact_id=None, number="+15551230001", server=server))
    session.flush()


class TestServerBudget:
    def test_calls_in_progress_on_the_server_count_against_max_channels(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        first, other = campaigns(factory, session, 2, ("pbx-a",))
        register_servers(session, {"pbx-a": ServerLimits(max_channels=5)})
        open_calls_on(session, other, "pbx-a", 3)  # another campaign's calls on the same server
        session.commit()
        lease = next(lease for lease in acquire(session_factory, "a", T0) if lease.campaign_id == first)
        with transaction(session_factory) as s:
            assert reserve_dials(s, lease, 10, at=T0 + 1) == 2
            open_calls_on(s, first, "pbx-a", 2)
        with transaction(session_factory) as s:
            assert reserve_dials(s, lease, 10, at=T0 + 2) == 0

    def test_max_cps_is_a_bucket_refilling_at_that_rate(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 1, ("pbx-a",))
        register_servers(session, {"pbx-a": ServerLimits(max_cps=2.0)})
        session.commit()
        (lease,) = acquire(session_factory, "a", T0)

        def reserve(wanted: int, at: float) -> int:
            with transaction(session_factory) as s:
                return reserve_dials(s, lease, wanted, at=at)

        assert reserve(10, T0) == 2, "a full bucket: one second's worth"
        assert reserve(10, T0 + 0.25) == 0
        assert reserve(10, T0 + 0.5) == 1
        assert reserve(10, T0 + 4) == 2, "never more than one second's worth"
        assert reserve(1, T0 + 4.5) == 1

    def test_a_stale_owner_reserves_nothing(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 1, ("pbx-a",))
        (old,) = acquire(session_factory, "a", T0)
        acquire(session_factory, "b", T0 + TTL)
        with pytest.raises(StaleLease), transaction(session_factory) as s:
            reserve_dials(s, old, 1, at=T0 + TTL)

    def test_units_of_one_server_owned_by_two_nodes_never_exceed_its_channels(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 2, ("pbx-a",))
        register_servers(session, {"pbx-a": ServerLimits(max_channels=25)})
        session.commit()
        leases = [*acquire(session_factory, "a", T0, limit=1), *acquire(session_factory, "b", T0, limit=1)]
        assert len({lease.campaign_id for lease in leases}) == 2
        placed: list[int] = []
        barrier = threading.Barrier(2)

        def dialer(lease: UnitLease) -> None:
            barrier.wait()
            for _ in range(20):
                with transaction(session_factory) as s:
                    n = reserve_dials(s, lease, 3, at=T0 + 1)
                    open_calls_on(s, lease.campaign_id, "pbx-a", n)
                placed.append(n)

        threads = [threading.Thread(target=dialer, args=(lease,)) for lease in leases]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(placed) == 25, "the server's 25, not one more (the server row serialises the reservations)"
        with transaction(session_factory) as s:
            assert s.scalar(select(func.count()).select_from(Call).where(Call.ended_at.is_(None))) == 25


class TestFenceOncePerTransaction:
    def test_claims_of_one_transaction_share_its_fence_and_the_next_transaction_fences_again(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 1, ("pbx-a",), contacts=4)
        (lease,) = acquire(session_factory, "a", T0)
        ids = list(session.scalars(select(Contact.id).order_by(Contact.id)))
        fences: list[str] = []

        def count(conn: object, cursor: object, statement: str, *args: object) -> None:
            if "FOR SHARE" in statement:
                fences.append(statement)

        bind = session_factory.kw["bind"]
        event.listen(bind, "before_cursor_execute", count)
        try:
            with session_factory() as owner:
                with owner.begin():
                    assert claim_contact_for_unit(owner, lease, ids[0], "call_1", at=T0 + 1)
                    assert claim_contact_for_unit(owner, lease, ids[1], "call_2", at=T0 + 1)
                assert len(fences) == 1, "one fence for the transaction's claims"
                acquire(session_factory, "b", T0 + TTL)  # a's lease ran out; b took the unit
                with pytest.raises(StaleLease), owner.begin():
                    claim_contact_for_unit(owner, lease, ids[2], "call_3", at=T0 + TTL)
                assert len(fences) == 2, "a new transaction is fenced again, and refused"
        finally:
            event.remove(bind, "before_cursor_execute", count)
