"""Which units a node that cannot reach a server hands over, and which servers it skips (engine/_blind.py)."""

from __future__ import annotations

from olive.engine._blind import BLIND_HOLD_S, LINK_DOWN_GRACE_S, blindness
from olive.store import SeenBy

A1, A2, B1 = ("c1", "pbx-a"), ("c2", "pbx-a"), ("c1", "pbx-b")


def view(server: str, node: str, health: str, counts: bool = True) -> SeenBy:
    return SeenBy(server, node, health, None, 0.0, counts)


PARTITION = [view("pbx-a", "me", "down"), view("pbx-a", "other", "up"), view("pbx-b", "me", "up")]


def test_units_on_a_server_down_for_the_grace_while_another_node_sees_it_up_are_handed_over() -> None:
    at = 100.0
    early = blindness("me", [A1, A2, B1], {"pbx-a": at}, {}, PARTITION, at + LINK_DOWN_GRACE_S - 0.1)
    assert early.hand_over == {} and early.skip == {"pbx-a"}, "a reconnect's blip: kept, but no more taken there"
    due = blindness("me", [A1, A2, B1], {"pbx-a": at}, {}, PARTITION, at + LINK_DOWN_GRACE_S)
    assert due.hand_over == {A1: LINK_DOWN_GRACE_S, A2: LINK_DOWN_GRACE_S}
    assert due.contested == frozenset(), "this node skips pbx-a: it takes none of its free units"


def test_a_server_nobody_else_sees_up_keeps_its_units_and_is_not_skipped() -> None:
    views = [view("pbx-a", "me", "down"), view("pbx-a", "other", "down"), view("pbx-a", "gone", "up", counts=False)]
    seen = blindness("me", [A1], {"pbx-a": 0.0}, {"pbx-a": 0.0}, views, 10 * LINK_DOWN_GRACE_S)
    assert seen.hand_over == {} and seen.skip == frozenset() and seen.contested == frozenset()
    assert seen.holds_over == {"pbx-a"}, "nobody else reaches it: the hold ends, this node is as good as any"


def test_a_node_with_no_view_yet_skips_nothing() -> None:
    seen = blindness("new", [], {}, {}, PARTITION, 0.0)
    assert seen.hand_over == {} and seen.skip == frozenset()
    assert seen.contested == {"pbx-a"}, "another node cannot reach pbx-a: its free units are for those who can"


def test_a_server_handed_over_is_skipped_for_the_hold_then_taken_like_any() -> None:
    views = [view("pbx-a", "me", "down"), view("pbx-a", "other", "up")]
    held = blindness("me", [B1], {}, {"pbx-a": 50.0}, views, 50.0 + BLIND_HOLD_S - 0.1)
    assert held.skip == {"pbx-a"} and held.holds_over == frozenset()
    over = blindness("me", [B1], {}, {"pbx-a": 50.0}, views, 50.0 + BLIND_HOLD_S)
    assert over.skip == frozenset() and over.holds_over == {"pbx-a"}


def test_the_node_that_reaches_a_contested_server_sees_it_contested() -> None:
    seen = blindness("other", [("c3", "pbx-a")], {}, {}, PARTITION, 0.0)
    assert seen.contested == {"pbx-a"} and seen.skip == frozenset() and seen.hand_over == {}


def test_after_an_outage_seen_by_every_node_the_grace_runs_from_when_another_node_saw_it_up() -> None:
    # pbx-a restarted: every node saw it down from t=0. Another node's probe logs in at t=60; this node's link is
    # still in its reconnect backoff. Counting from t=0 it would hand over at once; it has the grace from t=60.
    views = [view("pbx-a", "me", "down"), view("pbx-a", "other", "up")]
    early = blindness("me", [A1], {"pbx-a": 0.0}, {}, views, 61.0, up_elsewhere_since={"pbx-a": 60.0})
    assert early.hand_over == {} and early.skip == {"pbx-a"}
    due = blindness("me", [A1], {"pbx-a": 0.0}, {}, views, 60.0 + LINK_DOWN_GRACE_S, up_elsewhere_since={"pbx-a": 60.0})
    assert due.hand_over == {A1: 60.0 + LINK_DOWN_GRACE_S}, "down since 0 s, as the note says"
    # A partition: the other node saw pbx-a up all along, so the grace runs from this node's own cut.
    cut = blindness("me", [A1], {"pbx-a": 50.0}, {}, views, 50.0 + LINK_DOWN_GRACE_S, up_elsewhere_since={"pbx-a": 0.0})
    assert cut.hand_over == {A1: LINK_DOWN_GRACE_S}
