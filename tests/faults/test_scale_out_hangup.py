"""A forced stop when the campaign's units are held by ``--scale-out`` nodes (issue 15), on PostgreSQL.

The API node that gets ``stop?force=true`` has no AMI link (its engine places no call); the
calls are followed by the unit's owner. The request reaches the owner as ``NOTIFY olive_hangup``
(engine/_unit_hangup.py); the owner's engine hangs up the calls it follows, and each is
recorded CANCELLED, as with the classic engine's forced stop.
"""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import Olive, make_campaign, number
from olive.engine import Engine
from olive.engine._unit import NotDialing, UnitEngines
from olive.engine._unit_hangup import PoolView, listen_for_hangups
from olive.engine._unit_scope import UnitScope
from olive.store import (
    ServerLimits,
    acquire_units,
    register_servers,
    set_campaign_servers,
    transaction,
)

pytestmark = pytest.mark.postgres

ONCE = {k: {"max_attempts": 1, "delay_s": 0} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


async def test_a_forced_stop_asked_on_another_node_hangs_up_the_calls_the_units_owner_follows(
    olive: Olive, session_factory: sessionmaker[Session]
) -> None:
    # The calls ring 300 s (7.5 s of real time at the tests' 40x): at the harness's 15 s (0.4 s real)
    # a loaded machine saw them end unanswered before both rang, or before the hangup reached them.
    cid = make_campaign(olive.sessions, name="forced", contacts=[number(3, i) for i in range(2)], retry_rules=ONCE,
                        dial_timeout_s=300)
    with transaction(olive.sessions) as s:
        register_servers(s, {"default": ServerLimits()})
        set_campaign_servers(s, cid, ["default"])
        (lease,) = acquire_units(s, "node-a", 600.0, limit=1)

    # node-a: owns the unit, listens for forced stops.
    def make(scope: UnitScope) -> Engine:
        return Engine(olive.sessions, {"default": olive.target.server}, clock=olive.target.clock, guard=olive.guard,
                      tick_s=0.5, unit=scope)

    units = UnitEngines(asyncio.get_running_loop(), make)
    units.runner = SimpleNamespace(leases={lease.key: lease}, may_dial=lambda key: True)  # type: ignore[assignment]
    url = olive.sessions.kw["bind"].url
    not_listening = threading.Event()
    listener = asyncio.create_task(asyncio.to_thread(listen_for_hangups, url, units.hangup, not_listening))
    units.start(lease)
    # node-b: the API node that gets the request; it holds nothing and has no AMI link.
    view = PoolView(olive.sessions, {}, clock=olive.target.clock, lease=NotDialing(olive.sessions, "node-b"))
    await view.start()
    try:
        await olive.until(lambda: lease.key in units.engines and units.engines[lease.key].links["default"].ready,
                          within_s=60, what="node-a's unit engine connected")
        link = units.engines[lease.key].links["default"]
        await olive.until(lambda: sum(r.ringing_at is not None for r in link.tracker.active()) == 2, within_s=60,
                          what="two calls ringing")
        asked = await view.control.stop_campaign(cid, force=True)
        assert asked == 2  # the campaign's calls in progress when the stop was asked
        await olive.until(lambda: len(link.tracker) == 0, within_s=60, what="node-a's calls hung up")
        await olive.until(lambda: all(c.ended_at for c in olive.calls(cid)), within_s=60, what="records ended")
        assert [c.outcome for c in olive.calls(cid)] == ["CANCELLED", "CANCELLED"]
        assert olive.report(cid).status == "stopped"
    finally:
        not_listening.set()
        await listener
        await view.stop()
        units.stop(lease, "test over")
        await units.stop_all()
