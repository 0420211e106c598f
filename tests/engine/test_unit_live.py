"""A unit's engine publishes its campaign's live figures; any node's API engine reads them (issue 15), on PostgreSQL.

The engines here have no Asterisk link (their note says so): what is tested is
the publication, its pace, its fence, and what the API engine (``PoolView``)
makes of the rows. Time is the engine's ``ManualClock``; the figures' ages are
the database's clock's, so rows meant to be stale are published in the past.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from olive.clock import ManualClock
from olive.engine import CampaignStatus, Engine
from olive.engine._live import LIVE_EVERY_S, live_figures
from olive.engine._runner import CampaignCounters
from olive.engine._unit import NotDialing
from olive.engine._unit_hangup import PoolView
from olive.engine._unit_scope import UnitScope
from olive.pacing import WindowStats
from olive.store import (
    Campaign,
    ServerLimits,
    UnitLease,
    UnitLiveView,
    acquire_units,
    publish_unit_live,
    register_servers,
    release_units,
    set_campaign_servers,
    transaction,
    unit_live,
)
from store.conftest import Factory

pytestmark = pytest.mark.postgres

TTL_S = 600.0  # the database's clock: these tests hand units over by releasing them


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


@pytest.fixture
async def engines() -> AsyncIterator[list[Engine]]:
    """Engines to stop after the test, whatever happened."""
    made: list[Engine] = []
    yield made
    for engine in made:
        await engine.stop()


def campaign_on(sessions: sessionmaker[Session], *servers: str, status: str = "running") -> str:
    with transaction(sessions) as s:
        register_servers(s, {name: ServerLimits() for name in servers})
        f, name = Factory(s), servers[0]
        dial_list = f.dial_list(name=f"list on {name}")
        f.contact(dial_list)  # something left to dial: the campaign does not finish
        agent = f.agent(name=f"agent on {name}", interface=f"PJSIP/{name}")
        campaign = f.campaign(plan=f.plan(name=f"plan on {name}"), agents=[agent], dial_lists=[dial_list],
                              name=f"campaign on {name}", server=name, status=status)
        set_campaign_servers(s, campaign.id, list(servers))
        return campaign.id


def take(sessions: sessionmaker[Session], node: str) -> UnitLease:
    with transaction(sessions) as s:
        (lease,) = acquire_units(s, node, TTL_S, limit=1)
    return lease


async def unit_engine(
    sessions: sessionmaker[Session], lease: UnitLease, engines: list[Engine], believes: Callable[[], bool] = lambda: True
) -> Engine:
    engine = Engine(sessions, {}, clock=ManualClock(), unit=UnitScope(lease, believes))
    engines.append(engine)
    await engine.start(run=False)
    return engine


def published(sessions: sessionmaker[Session], campaign_id: str) -> list[UnitLiveView]:
    with transaction(sessions) as s:
        return unit_live(s, [campaign_id])


async def test_a_units_engine_publishes_its_campaigns_figures_every_two_seconds_at_most(
    session_factory: sessionmaker[Session], engines: list[Engine]
) -> None:
    cid = campaign_on(session_factory, "pbx-a")
    lease = take(session_factory, "node-a")
    engine = await unit_engine(session_factory, lease, engines)
    await engine.tick()
    (first,) = published(session_factory, cid)
    assert (first.server, first.node, first.token, first.held) == ("pbx-a", "node-a", lease.token, True)
    assert first.figures == live_figures(engine.status(cid))
    assert first.figures["note"] == "no Asterisk server named 'pbx-a' is configured"
    assert first.figures["pacer_mode"] == "progressive"
    assert first.figures["counters"]["dials"] == 0
    assert [w["window_s"] for w in first.figures["abandon_windows"]] == [None, 30 * 86400.0]  # us-tsr's window
    assert isinstance(engine.clock, ManualClock)
    await engine.clock.advance(LIVE_EVERY_S / 2)
    await engine.tick()
    assert published(session_factory, cid)[0].live_at == first.live_at  # not yet
    await engine.clock.advance(LIVE_EVERY_S / 2)
    await engine.tick()
    assert published(session_factory, cid)[0].live_at > first.live_at


async def test_a_units_engine_whose_lease_was_taken_publishes_nothing(
    session_factory: sessionmaker[Session], engines: list[Engine]
) -> None:
    cid = campaign_on(session_factory, "pbx-a")
    old = take(session_factory, "node-a")
    # node-a freezes; its lease goes to node-b. node-a wakes still believing it holds the unit.
    with transaction(session_factory) as s:
        release_units(s, [old])
    new = take(session_factory, "node-b")
    stale = await unit_engine(session_factory, old, engines)
    await stale.tick()  # refused by the fence: nothing written, and the tick goes on
    assert published(session_factory, cid) == []
    assert stale.health.tick_failures == 0
    holder = await unit_engine(session_factory, new, engines)
    await holder.tick()
    assert isinstance(stale.clock, ManualClock)
    await stale.clock.advance(LIVE_EVERY_S)
    await stale.tick()
    assert [(r.node, r.token) for r in published(session_factory, cid)] == [("node-b", new.token)]


async def test_a_unit_the_node_may_no_longer_dial_for_publishes_nothing(
    session_factory: sessionmaker[Session], engines: list[Engine]
) -> None:
    cid = campaign_on(session_factory, "pbx-a")
    engine = await unit_engine(session_factory, take(session_factory, "node-a"), engines, believes=lambda: False)
    await engine.tick()
    assert published(session_factory, cid) == []


def figures(dials: int, connects: int, outcomes: dict[str, int], windows: list[tuple[float | None, float, float]],
            **estimates: float) -> dict[str, object]:
    status = CampaignStatus(
        "c", f"{dials} dials decided", CampaignCounters(outcomes, 3600.0, 1800.0, 1200.0, connects, dials),
        "predictive", dict(estimates), (dials, f"{dials} idle agents"), tuple(WindowStats(*w) for w in windows),
    )
    return live_figures(status)


async def test_the_api_engine_merges_the_live_units_and_shows_a_silent_holders_figures_as_stale(
    session_factory: sessionmaker[Session],
) -> None:
    cid = campaign_on(session_factory, "pbx-a", "pbx-b", "pbx-c")
    with transaction(session_factory) as s:
        a, b, c = sorted(
            [*acquire_units(s, "node-a", TTL_S, limit=1), *acquire_units(s, "node-b", TTL_S, limit=2)],
            key=lambda lease: lease.server,
        )
    assert [(a.server, a.node), (b.server, b.node), (c.server, c.node)] == [
        ("pbx-a", "node-a"), ("pbx-b", "node-b"), ("pbx-c", "node-b")]
    month = 30 * 86400.0
    with transaction(session_factory) as s:
        publish_unit_live(s, a, figures(2, 10, {"CONNECTED": 10, "BUSY": 3}, [(None, 100, 2), (month, 100, 2)],
                                        answer_rate=0.3, warm=1.0))
    with transaction(session_factory) as s:
        publish_unit_live(s, b, figures(1, 5, {"CONNECTED": 5, "NO_ANSWER": 4}, [(None, 50, 1), (month, 50, 1)],
                                        answer_rate=0.4, warm=1.0))
    with transaction(session_factory) as s:  # node-b still holds pbx-c, but has published nothing for an hour
        publish_unit_live(s, c, figures(9, 99, {"CONNECTED": 99}, [(None, 99, 9)]), at=time.time() - 3600)
    view = PoolView(session_factory, {}, clock=ManualClock(), lease=NotDialing(session_factory, "node-c"),
                    stale_after_s=600.0)  # only the hour-old figures are stale, however slow this machine is
    await view.start(run=False)
    try:
        await view.tick()
        status = view.status(cid)
    finally:
        await view.stop()
    assert [(u.server, u.node, u.stale) for u in status.units] == [
        ("pbx-a", "node-a", False), ("pbx-b", "node-b", False), ("pbx-c", "node-b", True)]
    stale = status.units[2]
    assert stale.age_s >= 3600 and stale.held and stale.figures.counters is not None  # kept, marked, not merged
    assert status.counters == CampaignCounters(
        {"CONNECTED": 15, "BUSY": 3, "NO_ANSWER": 4}, 7200.0, 3600.0, 2400.0, 15, 3)
    assert status.pacer_mode == "predictive"
    assert status.estimates == {"warm": 1.0}  # the answer rates differ by server: kept per server only
    assert status.units[0].figures.estimates == {"answer_rate": 0.3, "warm": 1.0}
    assert status.last_decision == (3, "pbx-a: 2 idle agents; pbx-b: 1 idle agents")
    assert status.abandon_windows == (WindowStats(None, 150, 3), WindowStats(month, 150, 3))
    assert status.live_at == min(u.live_at for u in status.units[:2])
    assert status.note is not None
    assert status.note.startswith("pbx-a (node node-a): 2 dials decided; pbx-b (node node-b): 1 dials decided; pbx-c: ")
    assert "node node-b holds it but has not published since" in status.note
    assert view.note(cid) == status.note


async def test_the_api_engine_shows_no_figures_as_live_once_their_writer_lost_the_unit(
    session_factory: sessionmaker[Session],
) -> None:
    cid = campaign_on(session_factory, "pbx-a")
    lease = take(session_factory, "node-a")
    with transaction(session_factory) as s:
        publish_unit_live(s, lease, figures(1, 1, {"CONNECTED": 1}, [(None, 1, 0)]))
    with transaction(session_factory) as s:
        release_units(s, [lease])
    view = PoolView(session_factory, {}, clock=ManualClock(), lease=NotDialing(session_factory, "node-c"),
                    stale_after_s=600.0)
    await view.start(run=False)
    try:
        await view.tick()
        nobody = view.status(cid)
        take(session_factory, "node-b")  # taken again, not published yet
        view.invalidate()
        await view.tick()
        other = view.status(cid)
    finally:
        await view.stop()
    assert [(u.stale, u.owner_node) for u in nobody.units] == [(True, None)]
    assert nobody.counters is None and nobody.live_at is None
    assert "no node holds it now" in (nobody.note or "")
    assert [(u.stale, u.owner_node) for u in other.units] == [(True, "node-b")]
    assert "node node-b holds it now" in (other.note or "")


async def test_the_api_engine_says_when_a_running_campaign_has_no_figures_yet_and_a_stopped_one_has_none_live(
    session_factory: sessionmaker[Session],
) -> None:
    stopped = campaign_on(session_factory, "pbx-b")
    with transaction(session_factory) as s:  # its last figures, published just before it was stopped
        (lease,) = acquire_units(s, "node-a", TTL_S, limit=1)
        publish_unit_live(s, lease, figures(1, 1, {"CONNECTED": 1}, [(None, 1, 0)]))
        s.execute(update(Campaign).where(Campaign.id == stopped).values(status="stopped"))
    running = campaign_on(session_factory, "pbx-a")
    never = campaign_on(session_factory, "pbx-c", status="stopped")
    view = PoolView(session_factory, {}, clock=ManualClock(), lease=NotDialing(session_factory, "node-c"),
                    stale_after_s=600.0)
    await view.start(run=False)
    try:
        await view.tick()
        assert view.status(running) == CampaignStatus(
            running, "no live figures from this campaign's units yet (GET /pool shows which nodes hold them)")
        assert view.status(never) == CampaignStatus(never, None)
        last = view.status(stopped)
    finally:
        await view.stop()
    assert (last.note, last.counters, last.live_at) == (None, None, None)
    assert [(u.server, u.node, u.stale) for u in last.units] == [("pbx-b", "node-a", True)]
