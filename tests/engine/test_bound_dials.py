"""A tick places at most ``max_dials_per_tick`` calls (engine._engine.bound_dials): pure."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olive.engine._engine import Engine, bound_dials
from olive.pacing import DialDecision


def decisions(*wanted: int) -> list[tuple[Any, DialDecision]]:
    return [(f"campaign{i}", DialDecision(n, f"reason {i}")) for i, n in enumerate(wanted)]


def test_within_the_bound_the_decisions_pass_unchanged() -> None:
    ds = decisions(20, 30)
    assert bound_dials(ds, 50) == (ds, False)


def test_over_the_bound_each_campaign_gets_its_share_and_says_why() -> None:
    out, more = bound_dials(decisions(150, 50), 50)
    assert more
    assert [(c, d.dials) for c, d in out] == [("campaign0", 37), ("campaign1", 12)]
    assert out[0][1].reason.startswith("reason 0; 37 placed this tick (at most 50 a tick)")


def test_a_small_campaign_beside_a_large_one_still_dials() -> None:
    out, _ = bound_dials(decisions(1000, 1), 10)
    assert [d.dials for _, d in out] == [9, 1]


@settings(max_examples=200, derandomize=True)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=6), st.integers(1, 100))
def test_never_more_than_the_bound_nor_than_asked(wanted: list[int], most: int) -> None:
    out, more = bound_dials(decisions(*wanted), most)
    placed = {c: d.dials for c, d in out}
    assert sum(placed.values()) <= most
    assert more == (sum(wanted) > most)
    for (campaign, decision) in decisions(*wanted):
        assert 0 <= placed.get(campaign, 0) <= decision.dials
    if more:
        assert sum(placed.values()) >= min(most, len([w for w in wanted if w]))  # the bound is used, not wasted


def test_the_bound_must_allow_a_dial() -> None:
    with pytest.raises(ValueError, match="max_dials_per_tick"):
        Engine(None, {}, max_dials_per_tick=0)  # type: ignore[arg-type]
