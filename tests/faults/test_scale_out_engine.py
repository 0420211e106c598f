"""A unit's engine (issue 15), in one process against the simulator, on PostgreSQL.

The engine of a unit dials only under its lease: every dial transaction
starts with the fence (``reserve_dials``), so an engine that still believes it
owns the unit (a frozen node, a clock that lied) gets its dial refused by the
database and sends no Originate. A node that takes a unit over from a dead
node adopts the dead node's calls in flight from Asterisk before it dials, and
each of them ends with exactly one record.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import Olive, make_campaign, number
from faults.checks import assert_fault_invariants, crash
from olive.calls import CallState
from olive.engine import Engine, EngineState
from olive.engine._unit import UnitEngines
from olive.engine._unit_scope import UnitScope
from olive.store import (
    Call,
    Contact,
    ServerLimits,
    UnitLease,
    acquire_units,
    register_servers,
    release_units,
    set_campaign_servers,
    transaction,
)

pytestmark = pytest.mark.postgres

AGENTS = ["801", "802", "803"]
RULES = {k: {"max_attempts": 3, "delay_s": 20} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}
TTL_S = 600.0  # real seconds: these tests hand units over by releasing them, not by waiting


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


def unit_of(sessions: sessionmaker[Session], cid: str, limits: ServerLimits | None = None) -> None:
    with transaction(sessions) as s:
        register_servers(s, {"default": limits or ServerLimits()})
        set_campaign_servers(s, cid, ["default"])


def take(sessions: sessionmaker[Session], node: str) -> UnitLease:
    with transaction(sessions) as s:
        (lease,) = acquire_units(s, node, TTL_S, limit=1)
    return lease


def unit_engine(olive: Olive, lease: UnitLease, believes: list[bool] | None = None) -> Engine:
    """The engine a node runs for ``lease``; ``believes[0]``: whether the node thinks it may dial."""
    belief = believes if believes is not None else [True]
    scope = UnitScope(lease, lambda: belief[0])
    return Engine(olive.sessions, {"default": olive.target.server}, clock=olive.target.clock, guard=olive.guard,
                  tick_s=0.5, unit=scope)


def originates(olive: Olive) -> list[str]:
    return [a.action.get("ChannelId") or "" for a in olive.target.pbx.actions if a.action.name == "Originate"]


async def test_a_node_whose_lease_was_taken_has_its_dial_refused_and_sends_no_originate(olive: Olive) -> None:
    cid = make_campaign(olive.sessions, name="fenced", contacts=[number(1, 500 + i) for i in range(20)], agents=AGENTS,
                        retry_rules=RULES)
    unit_of(olive.sessions, cid)
    old = take(olive.sessions, "node-a")
    # node-a freezes; meanwhile its lease goes to node-b (a new token). node-a wakes still
    # believing it owns the unit (the worst case: its clock check passed before the freeze).
    with transaction(olive.sessions) as s:
        release_units(s, [old])
    new = take(olive.sessions, "node-b")
    assert new.token == old.token + 1
    stale = unit_engine(olive, old)
    await stale.start(run=False)
    olive.engine = stale
    await olive.until(lambda: stale.links["default"].ready, within_s=60, what="node-a's link ready")
    refused = 0
    deadline = olive.target.clock.now() + 120
    while refused < 3:  # it reads its campaign, puts the agents in the queue, then wants to dial
        assert olive.target.clock.now() < deadline, "the stale node never even tried to dial"
        try:
            await stale.tick()
        except Exception as exc:  # the tick fails on the fence: nothing was written
            assert "is no longer the unit's lease" in str(exc), exc
            refused += 1
        await asyncio.sleep(0.05)
    assert refused > 0, "the stale node never even tried to dial"
    assert originates(olive) == [], "a node whose lease was taken sent an Originate"
    with transaction(olive.sessions) as s:
        assert s.scalars(select(Call.id).where(Call.campaign_id == cid)).all() == []
        assert s.scalars(select(Contact.id).where(Contact.active_call_id.is_not(None))).all() == []


async def test_the_unit_dials_within_its_servers_channel_limit(olive: Olive) -> None:
    cid = make_campaign(olive.sessions, name="capped", contacts=[number(1, 600 + i) for i in range(12)], agents=AGENTS,
                        retry_rules=RULES, lines_per_agent=3.0)
    unit_of(olive.sessions, cid, ServerLimits(max_channels=2))
    engine = unit_engine(olive, take(olive.sessions, "node-a"))
    await engine.start()
    olive.engine = engine
    most = 0
    deadline = olive.target.clock.now() + 1200
    while olive.report(cid).status != "finished":
        assert olive.target.clock.now() < deadline, "the capped campaign did not finish"
        with transaction(olive.sessions) as s:
            open_now = len(s.scalars(select(Call.id).where(Call.ended_at.is_(None))).all())
        most = max(most, open_now)
        await asyncio.sleep(0.02)
    assert 0 < most <= 2, f"{most} calls open at once on a server limited to 2"
    with transaction(olive.sessions) as s:
        stamped = {c.claim_server for c in s.scalars(select(Contact)) if c.claim_token is not None}
    assert stamped == {"default"}


async def test_a_unit_taken_over_from_a_dead_node_adopts_its_calls_in_flight(olive: Olive) -> None:
    cid = make_campaign(olive.sessions, name="adopted", contacts=[number(1, 700 + i) for i in range(30)], agents=AGENTS,
                        retry_rules=RULES)
    unit_of(olive.sessions, cid)
    first_lease = take(olive.sessions, "node-a")
    first = unit_engine(olive, first_lease)
    await first.start()
    olive.engine = first
    await olive.until(
        lambda: sum(1 for r in first.links["default"].tracker.active() if r.state is CallState.CONNECTED) >= 2,
        within_s=120, what="node-a's agents talking",
    )
    first_ids = set(originates(olive))
    await crash(first)  # kill -9: no goodbye, no record of what follows
    in_flight = {r.call_id for r in first.links["default"].tracker.active()}
    assert in_flight
    with transaction(olive.sessions) as s:  # its lease runs out (here: at once)
        release_units(s, [first_lease])
    second_lease = take(olive.sessions, "node-b")
    assert second_lease.token == first_lease.token + 1
    second = unit_engine(olive, second_lease)
    await second.start()
    olive.engine = second
    adopted = {r.call_id for r in second.links["default"].tracker.active()} | set(second.call_campaign)
    assert in_flight <= adopted, f"not adopted: {in_flight - adopted}"
    report = await olive.finish(cid, within_s=3 * 3600)
    calls = olive.calls(cid)
    assert_fault_invariants(calls, olive.target.pbx)
    assert report.contacts.get("dialing", 0) == 0
    # Every call of the dead node ended with its one record, and the new node's calls carry its token.
    by_id = {c.id: c for c in calls}
    assert all(by_id[i].ended_at is not None for i in in_flight)
    tags = {
        (a.action.get("ChannelId"), tuple(v for v in a.action.get_all("Variable") if v.startswith("OLIVE_TOKEN=")))
        for a in olive.target.pbx.actions if a.action.name == "Originate"
    }
    for call_id, tag in tags:
        assert tag == (f"OLIVE_TOKEN={first_lease.token if call_id in first_ids else second_lease.token}",), (call_id, tag)


async def test_a_dial_committed_just_before_the_lease_ran_out_is_not_sent(olive: Olive) -> None:
    """The node froze between the commit of its dials and their Originates, and its lease ran
    out meanwhile: a successor may already have adopted the unit without those calls, so they
    are not sent; each ends with its one record, not placed, and its contact is free again."""
    cid = make_campaign(olive.sessions, name="froze", contacts=[number(1, 800 + i) for i in range(6)], agents=AGENTS,
                        retry_rules=RULES)
    unit_of(olive.sessions, cid)
    belief = [True]
    engine = unit_engine(olive, take(olive.sessions, "node-a"), belief)
    committed: list[str] = []
    send = engine.send_dials

    def freeze_then_send(dials: list) -> None:  # type: ignore[type-arg]
        if dials:
            committed.extend(intent.call_id for _, intent, _ in dials)
            belief[0] = False  # the lease ran out while the node was frozen
        send(dials)

    engine.send_dials = freeze_then_send  # type: ignore[method-assign]
    await engine.start()
    olive.engine = engine
    await olive.until(lambda: bool(committed), within_s=120, what="a dial committed")
    await olive.until(lambda: all(c.ended_at is not None for c in olive.calls(cid)), within_s=60,
                      what="the unsent calls recorded")
    assert originates(olive) == [], "an Originate was sent after the lease ran out"
    calls = olive.calls(cid)
    assert {c.id for c in calls} == set(committed)
    for call in calls:
        assert call.outcome == "FAILED" and "was no longer held by this node" in (call.detail or ""), (call.outcome, call.detail)
    with transaction(olive.sessions) as s:
        assert s.scalars(select(Contact.id).where(Contact.active_call_id.is_not(None))).all() == []


async def test_calls_whose_first_events_died_with_their_node_are_followed_by_the_new_owner(olive: Olive) -> None:
    """kill -9 right after the Originates went out, before the node stored any event of them:
    their rows know no channel, only the Linkedid the dial wrote ahead (each Originate's
    ChannelId is the call id). The new owner finds their channels by it and follows them to
    their real end, instead of ending them as gone while they are up (which would free their
    contacts to be dialed again)."""
    cid = make_campaign(olive.sessions, name="unseen", contacts=[number(1, 900 + i) for i in range(3)], agents=AGENTS,
                        retry_rules=RULES)
    unit_of(olive.sessions, cid)
    first_lease = take(olive.sessions, "node-a")
    first = unit_engine(olive, first_lease)
    await first.start(run=False)
    olive.engine = first
    deadline = olive.target.clock.now() + 120
    while not originates(olive):  # ticks until its first dials are out; nothing of them stored after
        assert olive.target.clock.now() < deadline, "node-a never dialed"
        await first.tick()
        await asyncio.sleep(0.05)
    sent = set(originates(olive))
    await olive.until(lambda: len({c.linkedid for c in olive.target.pbx.channels()} & sent) == len(sent), within_s=30,
                      what="the calls' channels up at Asterisk")
    first.state = EngineState.STOPPED  # kill -9: no tick more, the AMI connection just drops
    for link in first.links.values():
        if link.client._writer is not None:
            link.client._writer.transport.abort()
        await link.client.close()
    with transaction(olive.sessions) as s:
        # Nothing of them stored but what the dial wrote: the call id as the Linkedid to come.
        rows = list(s.scalars(select(Call).where(Call.id.in_(sent))))
        assert rows and all(c.state == "originating" and c.linkedid == c.id for c in rows)
        release_units(s, [first_lease])
    second = unit_engine(olive, take(olive.sessions, "node-b"))
    await second.start()
    olive.engine = second
    await olive.finish(cid, within_s=3600)
    calls = {c.id: c for c in olive.calls(cid)}
    for call_id in sent:
        assert calls[call_id].outcome == "CONNECTED", (call_id, calls[call_id].outcome, calls[call_id].detail)
    assert_fault_invariants(list(calls.values()), olive.target.pbx)


class FlakyEngine:
    """An engine whose start fails while the database is away (its adoption reads the store)."""

    def __init__(self, failures: list[int]) -> None:
        self.failures = failures
        self.on_tick = None
        self.running = False

    async def start(self) -> None:
        if self.failures[0] > 0:
            self.failures[0] -= 1
            raise OSError("the database is away")
        self.running = True

    async def stop(self) -> None:
        self.running = False


async def test_a_unit_whose_engine_could_not_start_is_started_again_while_its_lease_holds() -> None:
    """A database blip at a takeover fails the new engine's adoption: the node, which keeps
    renewing the unit, tries again instead of holding the unit without dialing it."""
    failures = [2]
    built: list[FlakyEngine] = []

    def make(scope: UnitScope) -> FlakyEngine:
        built.append(FlakyEngine(failures))
        return built[-1]

    units = UnitEngines(asyncio.get_running_loop(), make, retry_s=0.01)  # type: ignore[arg-type]
    lease = UnitLease("camp_1", "pbx-a", "node-a", 3, 0.0)
    units.runner = SimpleNamespace(leases={lease.key: lease}, may_dial=lambda key: True)  # type: ignore[assignment]
    units.start(lease)
    for _ in range(200):
        if lease.key in units.engines and units.engines[lease.key].running:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.01)
    assert units.engines[lease.key].running, "the unit was never started again"  # type: ignore[attr-defined]
    assert len(built) == 3 and units.started == 1
    units.stop(lease, "test over")
    await units.stop_all()
    assert not units.engines


async def test_an_originate_still_on_its_way_at_the_takeover_is_followed_not_ended(olive: Olive) -> None:
    """The old owner committed its dial and sent the Originate just before its lease ran out,
    but Asterisk creates the channel only after the new owner has reconciled the unit (a slow
    network, a busy manager thread). The new owner must not record that call as gone (its
    contact would be free while the call rings): it waits for it as for any Originate whose
    answer is pending, finds its channel by the call id, and follows it to its end."""
    cid = make_campaign(olive.sessions, name="transit", contacts=[number(1, 950 + i) for i in range(2)], agents=AGENTS,
                        retry_rules=RULES)
    unit_of(olive.sessions, cid)
    first_lease = take(olive.sessions, "node-a")
    first = unit_engine(olive, first_lease)
    on_its_way = asyncio.Event()
    held: list[str] = []
    send = first._originate

    async def slow_originate(link, intent, plan) -> None:  # type: ignore[no-untyped-def]
        held.append(intent.call_id)
        await on_its_way.wait()
        await send(link, intent, plan)

    first._originate = slow_originate  # type: ignore[method-assign]
    await first.start(run=False)
    deadline = olive.target.clock.now() + 120
    while not held:  # node-a ticks until a dial is committed and its Originate is under way
        assert olive.target.clock.now() < deadline, "node-a never dialed"
        await first.tick()
        await asyncio.sleep(0.05)
    olive.engine = first
    with transaction(olive.sessions) as s:  # node-a's lease runs out; node-b takes the unit
        release_units(s, [first_lease])
    second = unit_engine(olive, take(olive.sessions, "node-b"))
    await second.start()
    await olive.until(lambda: second.links["default"].ready and second.in_transit is not None
                      and not second.in_transit.calls, within_s=60, what="node-b reconciled the unit")
    assert second.in_transit is not None and set(second.in_transit.kept) == set(held)
    on_its_way.set()  # the Originates reach Asterisk now, after node-b's reconciliation
    olive.engine = second
    await olive.until(lambda: all(c.ended_at is not None for c in olive.calls(cid) if c.id in held),
                      within_s=600, what="the late calls ended")
    first.state = EngineState.STOPPED
    for link in first.links.values():
        await link.client.close()
    calls = {c.id: c for c in olive.calls(cid)}
    for call_id in held:
        assert calls[call_id].outcome == "CONNECTED", (calls[call_id].outcome, calls[call_id].detail)
