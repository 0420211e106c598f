"""Each node's view of a server, and the pool's health combined from them (issue 15), on SQLite and PostgreSQL.

Times are passed in (``at``) so freshness and the nodes' expiry are exact.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from olive.store import (
    DOWN_HOLDS_S,
    ServerLimits,
    forget_server_view,
    heartbeat_node,
    record_server_view,
    register_node,
    register_servers,
    server_views,
    servers,
)
from olive.store._server_views import NOTE_MAX, VIEW_KEPT_S, combine

from .conftest import Factory
from .test_units import acquire, campaigns

T0 = 1_790_000_000.0
LOST = "AMI connection lost; reconnecting"


def health(session: Session, server: str = "pbx-a") -> tuple[str, str | None]:
    session.expire_all()
    (row,) = [s for s in servers(session) if s.name == server]
    return row.health, row.health_note


def nodes(session: Session, *names: str, ttl: float = 600.0, at: float = T0) -> None:
    for name in names:
        assert register_node(session, name, f"{name}-instance", ttl, at=at)


@pytest.fixture
def pool(session: Session) -> Session:
    register_servers(session, {"pbx-a": ServerLimits(), "pbx-b": ServerLimits()})
    nodes(session, "node-a", "node-b", "node-c")
    return session


def test_the_pools_health_does_not_depend_on_which_node_wrote_last(pool: Session) -> None:
    # node-a cannot reach pbx-a, node-b can; they write in turn, as their renewals come.
    seen = []
    for k in range(4):
        record_server_view(pool, "pbx-a", "node-a", "down", LOST, at=T0 + 2 * k)
        seen.append(health(pool))
        record_server_view(pool, "pbx-a", "node-b", "up", at=T0 + 2 * k + 1)
        seen.append(health(pool))
    assert set(seen[1:]) == {("up", f"up (node-a sees it down: {LOST})")}, seen
    assert seen[0] == ("down", LOST), "before node-b's first view, node-a's is the only one"


def test_both_down_is_down_with_each_nodes_note(pool: Session) -> None:
    record_server_view(pool, "pbx-a", "node-a", "down", LOST, at=T0)
    record_server_view(pool, "pbx-a", "node-b", "down", LOST, at=T0 + 1)
    assert health(pool) == ("down", LOST), "one note when they agree"
    record_server_view(pool, "pbx-a", "node-b", "down", "Asterisk is shutting down", at=T0 + 2)
    assert health(pool) == ("down", f"node-a: {LOST} · node-b: Asterisk is shutting down")


def test_every_node_that_sees_it_down_is_named_beside_the_one_that_sees_it_up(pool: Session) -> None:
    record_server_view(pool, "pbx-a", "node-a", "down", LOST, at=T0)
    record_server_view(pool, "pbx-a", "node-c", "down", "reconnected; reconciling calls and queue members", at=T0 + 1)
    record_server_view(pool, "pbx-a", "node-b", "up", at=T0 + 2)
    assert health(pool) == (
        "up", f"up (node-a sees it down: {LOST} · node-c sees it down: reconnected; reconciling calls and queue members)"
    )
    assert health(pool, "pbx-b") == ("unknown", None), "views of one server say nothing of another"


def test_a_stale_up_no_longer_keeps_the_server_up(pool: Session) -> None:
    record_server_view(pool, "pbx-a", "node-b", "up", at=T0)
    record_server_view(pool, "pbx-a", "node-a", "down", LOST, at=T0 + DOWN_HOLDS_S - 1)
    assert health(pool)[0] == "up", "node-b's up is still fresh"
    record_server_view(pool, "pbx-a", "node-a", "down", LOST, at=T0 + DOWN_HOLDS_S)
    assert health(pool) == ("down", LOST), "node-b stopped writing DOWN_HOLDS_S ago: its view no longer counts"


def test_a_dead_nodes_up_no_longer_keeps_the_server_up(session: Session) -> None:
    register_servers(session, {"pbx-a": ServerLimits()})
    nodes(session, "node-a")
    nodes(session, "node-b", ttl=6.0)
    record_server_view(session, "pbx-a", "node-b", "up", at=T0)
    record_server_view(session, "pbx-a", "node-a", "down", LOST, at=T0 + 5)
    assert health(session)[0] == "up"
    record_server_view(session, "pbx-a", "node-a", "down", LOST, at=T0 + 6)
    assert health(session) == ("down", LOST), "node-b's registration expired: its fresh view does not count"


def test_a_dead_nodes_down_does_not_hide_a_live_nodes_up(pool: Session) -> None:
    register_servers(pool, {"pbx-c": ServerLimits()})
    nodes(pool, "node-gone", ttl=1.0)
    record_server_view(pool, "pbx-c", "node-gone", "down", LOST, at=T0)
    record_server_view(pool, "pbx-c", "node-a", "up", at=T0 + 2)
    assert health(pool, "pbx-c") == ("up", None), "a dead node's disagreement is not reported"


def test_when_no_view_counts_the_writers_own_view_stands(session: Session) -> None:
    # A node whose registration lapsed (it is about to register again) still says what it sees.
    register_servers(session, {"pbx-a": ServerLimits()})
    record_server_view(session, "pbx-a", "node-unregistered", "down", LOST, at=T0)
    assert health(session) == ("down", LOST)
    record_server_view(session, "pbx-a", "node-unregistered", "up", at=T0 + 1)
    assert health(session) == ("up", None)


def test_the_views_are_read_back_with_whether_they_count(pool: Session) -> None:
    assert heartbeat_node(pool, "node-c", "node-c-instance", 1.0, at=T0)  # dies at T0 + 1
    record_server_view(pool, "pbx-a", "node-a", "down", LOST, at=T0)
    record_server_view(pool, "pbx-a", "node-b", "up", at=T0 + 1)
    record_server_view(pool, "pbx-b", "node-c", "up", at=T0)
    got = [(v.server, v.node, v.health, v.note, v.at - T0, v.counts) for v in server_views(pool, at=T0 + DOWN_HOLDS_S)]
    assert got == [
        ("pbx-a", "node-a", "down", LOST, 0.0, False),  # stale
        ("pbx-a", "node-b", "up", None, 1.0, True),
        ("pbx-b", "node-c", "up", None, 0.0, False),  # its node is dead
    ]


def test_views_not_written_for_an_hour_are_forgotten(pool: Session) -> None:
    record_server_view(pool, "pbx-a", "node-c", "up", at=T0)
    record_server_view(pool, "pbx-a", "node-a", "up", at=T0 + VIEW_KEPT_S - 1)
    assert [v.node for v in server_views(pool, at=T0 + VIEW_KEPT_S - 1)] == ["node-a", "node-c"]
    record_server_view(pool, "pbx-a", "node-a", "up", at=T0 + VIEW_KEPT_S)
    assert [v.node for v in server_views(pool, at=T0 + VIEW_KEPT_S)] == ["node-a"]


def test_a_withdrawn_view_no_longer_counts_and_the_health_is_combined_again(pool: Session) -> None:
    record_server_view(pool, "pbx-a", "node-a", "down", LOST, at=T0)
    record_server_view(pool, "pbx-a", "node-b", "up", at=T0 + 1)
    forget_server_view(pool, "pbx-a", "node-b", at=T0 + 2)  # node-b handed its units on pbx-a over
    assert health(pool) == ("down", LOST)
    assert [v.node for v in server_views(pool, at=T0 + 2)] == ["node-a"]
    forget_server_view(pool, "pbx-a", "node-a", at=T0 + 3)
    assert health(pool) == ("down", LOST), "no view left: the health stays as last written"
    forget_server_view(pool, "pbx-z", "node-a", at=T0 + 3)  # a server gone from the pool: nothing to do


def test_a_long_note_is_cut_to_fit_the_column(pool: Session) -> None:
    record_server_view(pool, "pbx-a", "node-a", "down", "x" * 300, at=T0)
    record_server_view(pool, "pbx-a", "node-b", "up", at=T0)
    note = health(pool)[1]
    assert note is not None and len(note) == NOTE_MAX and note.startswith("up (node-a sees it down: xxx") and note.endswith("…")


def test_a_view_that_is_neither_up_nor_down_leaves_the_others_to_decide() -> None:
    assert combine([("a", "unknown", None), ("b", "down", LOST)], "a") == ("down", LOST)
    assert combine([("a", "unknown", None)], "a") is None, "the writer's own view stands"


class TestTakingUnits:
    def test_units_are_not_taken_on_a_server_every_fresh_view_calls_down(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 2)
        nodes(session, "node-a", "node-b")
        record_server_view(session, "pbx-b", "node-a", "down", LOST, at=T0)
        record_server_view(session, "pbx-b", "node-b", "down", "Asterisk is shutting down", at=T0 + 1)
        session.commit()
        assert {lease.server for lease in acquire(session_factory, "node-c", T0 + 2)} == {"pbx-a"}

    def test_units_are_taken_on_a_server_one_node_sees_up_whoever_wrote_last(
        self, session_factory: sessionmaker[Session], session: Session, factory: Factory
    ) -> None:
        campaigns(factory, session, 2)
        nodes(session, "node-a", "node-b")
        record_server_view(session, "pbx-b", "node-b", "up", at=T0)
        record_server_view(session, "pbx-b", "node-a", "down", LOST, at=T0 + 1)  # the last word, and down
        session.commit()
        assert {lease.server for lease in acquire(session_factory, "node-c", T0 + 2)} == {"pbx-a", "pbx-b"}
