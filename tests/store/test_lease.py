"""The dialing lease row: one holder per database, on SQLite and PostgreSQL (issue 10, item 6)."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from olive.store import LeaseHolder, LeaseRepository, transaction

T0 = 1_790_000_000.0
TTL = 15.0


def _acquire(sessions: sessionmaker[Session], node: str, now: float) -> LeaseHolder:
    with transaction(sessions) as s:
        return LeaseRepository(s).acquire(node, f"token-{node}", now, TTL)


class TestLeaseRepository:
    def test_the_first_node_takes_it_and_a_second_is_refused(self, session_factory: sessionmaker[Session]) -> None:
        a = _acquire(session_factory, "a", T0)
        assert (a.node, a.token, a.expires_at) == ("a", "token-a", T0 + TTL)
        b = _acquire(session_factory, "b", T0 + 1)
        assert b.node == "a", "a live lease stays with its holder"

    def test_the_holder_renews_it(self, session_factory: sessionmaker[Session]) -> None:
        _acquire(session_factory, "a", T0)
        renewed = _acquire(session_factory, "a", T0 + 5)
        assert renewed.token == "token-a"
        assert renewed.acquired_at == T0 and renewed.heartbeat_at == T0 + 5 and renewed.expires_at == T0 + 5 + TTL
        assert _acquire(session_factory, "b", T0 + TTL + 1).node == "a", "renewed: not expired at the old time"

    def test_a_successor_takes_over_once_it_expired(self, session_factory: sessionmaker[Session]) -> None:
        _acquire(session_factory, "a", T0)
        assert _acquire(session_factory, "b", T0 + TTL - 0.001).node == "a"
        b = _acquire(session_factory, "b", T0 + TTL)
        assert (b.node, b.token, b.acquired_at) == ("b", "token-b", T0 + TTL)
        assert _acquire(session_factory, "a", T0 + TTL + 1).node == "b", "the old holder does not get it back"

    def test_release_frees_it_at_once_and_only_for_its_holder(self, session_factory: sessionmaker[Session]) -> None:
        _acquire(session_factory, "a", T0)
        with transaction(session_factory) as s:
            assert not LeaseRepository(s).release("token-b")
            assert LeaseRepository(s).release("token-a")
            assert LeaseRepository(s).holder() is None
        assert _acquire(session_factory, "b", T0 + 1).node == "b"

    def test_racing_nodes_one_wins(self, session_factory: sessionmaker[Session]) -> None:
        _acquire(session_factory, "old", T0)  # expired for everyone below
        nodes = [f"n{i}" for i in range(4)]
        barrier = threading.Barrier(len(nodes))
        won: list[str] = []

        def race(node: str) -> None:
            barrier.wait()
            if _acquire(session_factory, node, T0 + 60).token == f"token-{node}":
                won.append(node)

        threads = [threading.Thread(target=race, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(won) == 1, won
        with transaction(session_factory) as s:
            holder = LeaseRepository(s).holder()
        assert holder is not None and holder.node == won[0]

    def test_racing_for_a_free_lease_one_wins(self, session_factory: sessionmaker[Session]) -> None:
        nodes = [f"n{i}" for i in range(4)]
        barrier = threading.Barrier(len(nodes))
        won: list[str] = []

        def race(node: str) -> None:
            barrier.wait()
            if _acquire(session_factory, node, T0).token == f"token-{node}":
                won.append(node)

        threads = [threading.Thread(target=race, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(won) == 1, won
