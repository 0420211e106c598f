"""Owned callbacks reach their owner: the engine and the simulated PBX in memory, on a manual clock.

A callback an agent booked "for me" is connected to that agent, not to whoever is
free: its call waits in the shared callbacks queue with QUEUE_MIN_PENALTY and
QUEUE_MAX_PENALTY set to the owner's penalty, and the owner is out of the
campaign's queue from the dial until they are done with it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import QUEUE, agent_interface, make_campaign, number
from engine.memory import SERVER, InMemory
from olive import ami
from olive.ami import ServerConfig
from olive.compliance import AllowAll, schedule_callback
from olive.engine import Engine
from olive.engine._callbacks import penalties
from olive.store import CALLBACK_QUEUE, Agent, Call, Callback, ContactNumber, transaction

ONCE = {k: {"max_attempts": 1, "delay_s": 60} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED", "CANCELLED")}


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


def _book(sessions: sessionmaker[Session], campaign_id: str, numbers: list[str], owner: str | None, due: float) -> None:
    """A callback for each contact with one of ``numbers``, due at ``due``, owned by agent ``owner`` (a name)."""
    with transaction(sessions) as s:
        agent_id = s.scalars(select(Agent.id).where(Agent.name == owner)).one() if owner else None
        contact_ids = s.scalars(select(ContactNumber.contact_id).where(ContactNumber.number.in_(numbers))).all()
        for contact_id in contact_ids:
            schedule_callback(s, contact_id, campaign_id, due, agent_id=agent_id)


def _calls(mem: InMemory, campaign_id: str) -> dict[str, Call]:
    return {c.number: c for c in mem.calls(campaign_id)}


class TestPenalties:
    def test_unique_and_stable(self) -> None:
        ids = [f"agent_{i:04d}" for i in range(2000)]
        first = penalties(ids)
        assert len(set(first.values())) == len(ids)
        assert all(1 <= p <= 999_999 for p in first.values())
        # An agent added later moves nobody.
        assert {k: v for k, v in penalties([*ids, "agent_9999"]).items() if k in first} == first


class TestOwnedCallbacks:
    async def test_the_callback_goes_to_its_owner_not_the_free_agent(self, mem: InMemory) -> None:
        """Four callbacks owned by agent102 and four ordinary contacts, agent101 free too: every callback
        connects to agent102, one at a time, and agent102 is out of the campaign's queue meanwhile."""
        owned = [number(1, i) for i in range(1, 5)]
        others = [number(1, i) for i in range(11, 15)]
        cid = make_campaign(mem.sessions, name="owned", contacts=[*owned, *others], retry_rules=ONCE)
        _book(mem.sessions, cid, owned, "agent102", mem.clock.now())
        await mem.start()
        owner = agent_interface("102")
        overlap: list[str] = []

        def watch() -> bool:
            link = mem.engine.links["default"]
            in_flight = [r for r in link.tracker.active() if r.dial_string.split("/")[1].split("@")[0] in owned]
            if len(in_flight) > 1:
                overlap.append(", ".join(r.call_id for r in in_flight))
            return (mem.engine.note(cid) or "").startswith("finished")

        await mem.run_until(watch, within_s=3600, what="campaign finished")
        calls = _calls(mem, cid)
        with transaction(mem.sessions) as s:
            owner_id = s.scalars(select(Agent.id).where(Agent.name == "agent102")).one()
            assert {s.get(Callback, cb.id).status for cb in s.scalars(select(Callback))} <= {"scheduled", "done"}
        for n in owned:
            assert calls[n].outcome == "CONNECTED", calls[n].detail
            assert calls[n].agent_interface == owner, [(c.number, c.agent_interface, c.for_agent_id, c.originated_at) for c in calls.values()]
            assert calls[n].for_agent_id == owner_id
            assert calls[n].customer_wait_s is not None and calls[n].customer_wait_s < 2.0
        assert overlap == [], "the owner had two callbacks at once"
        assert {calls[n].for_agent_id for n in others} == {None}
        assert any(calls[n].agent_interface == agent_interface("101") for n in others), "agent101 took the others"
        # Both agents are in the callbacks queue with their own penalties, and back in the campaign's.
        link = mem.engine.links["default"]
        members = mem.pbx.queues.queues[CALLBACK_QUEUE].members
        assert {m.interface: m.penalty for m in members.values()} == {
            agent_interface(ext): mem.engine.callbacks.penalty[mem.engine._agent_ids[agent_interface(ext)]] for ext in ("101", "102")
        }
        await mem.run_for(2)
        assert QUEUE in link.members.get(owner).queues  # type: ignore[union-attr]

    async def test_without_routing_the_free_agent_takes_it(self, mem: InMemory) -> None:
        """The control: with no callback queue in the plan, the same callbacks go to whoever is free."""
        owned = [number(1, i) for i in range(21, 25)]
        cid = make_campaign(mem.sessions, name="unrouted", contacts=owned, retry_rules=ONCE, callback_queue=None)
        _book(mem.sessions, cid, owned, "agent102", mem.clock.now())
        await mem.start()
        await mem.finish(cid)
        calls = _calls(mem, cid)
        assert {calls[n].agent_interface for n in owned} == {agent_interface("101"), agent_interface("102")}, [(c.number, c.agent_interface, c.originated_at, c.ended_at) for c in calls.values()]
        assert {calls[n].for_agent_id for n in owned} == {None}

    async def test_a_reserved_owner_is_out_of_the_campaign_queue(self, mem: InMemory) -> None:
        """From the dial of their callback until it connects, the owner is not in the campaign's queue:
        another customer cannot take them while their callback's customer is still ringing."""
        cid = make_campaign(mem.sessions, name="reserve", contacts=[number(1, 31)], retry_rules=ONCE)
        _book(mem.sessions, cid, [number(1, 31)], "agent102", mem.clock.now() + 10)  # olive settled by then
        await mem.start()
        owner = agent_interface("102")
        queue = mem.pbx.queues.queues[QUEUE]
        await mem.run_until(lambda: bool(mem.calls(cid)), within_s=30, what="the callback dialed")
        assert owner in queue.members
        await mem.run_until(lambda: owner not in queue.members, within_s=5, what="the owner out of the campaign queue")
        call = mem.calls(cid)[0]
        assert call.agent_connected_at is None, "reserved before the customer answered"
        assert agent_interface("101") in queue.members
        await mem.run_until(lambda: mem.calls(cid)[0].agent_interface == owner, within_s=60, what="connected to the owner")
        await mem.run_until(lambda: mem.calls(cid)[0].ended_at is not None, within_s=120, what="the call over")
        await mem.run_until(lambda: owner in queue.members, within_s=10, what="the owner back in the campaign queue")


class TestEndOfRun:
    async def test_the_end_of_olive_run_leaves_the_callbacks_queue_too(self, mem: InMemory) -> None:
        """``olive run`` logs the campaign's agents out at its end: out of the campaign's queue and of
        olive-callbacks (no member left behind in Asterisk)."""
        cid = make_campaign(mem.sessions, name="the end", contacts=[number(3, 61)], retry_rules=ONCE)
        await mem.start()
        callbacks = mem.pbx.queues.queues[CALLBACK_QUEUE]
        both = {agent_interface("101"), agent_interface("102")}
        await mem.run_until(lambda: set(callbacks.members) == both, within_s=10, what="both in olive-callbacks")
        assert await mem.engine.control.log_out_campaign_agents(cid) == []
        await mem.clock.settle()
        assert set(callbacks.members) == set()
        assert both.isdisjoint(mem.pbx.queues.queues[QUEUE].members)


class TestRestart:
    async def test_the_reservation_survives_a_restart(self, mem: InMemory) -> None:
        """olive stops while the callback's customer is ringing; a new olive on the same database keeps the
        owner out of the campaign queue (calls.for_agent_id), and the call still reaches the owner."""
        cid = make_campaign(mem.sessions, name="restart", contacts=[number(1, 51)], retry_rules=ONCE)
        _book(mem.sessions, cid, [number(1, 51)], "agent102", mem.clock.now() + 10)
        await mem.start()
        owner = agent_interface("102")
        queue = mem.pbx.queues.queues[QUEUE]
        await mem.run_until(lambda: bool(mem.calls(cid)), within_s=30, what="the callback dialed")
        await mem.run_until(lambda: owner not in queue.members, within_s=5, what="the owner out of the campaign queue")
        assert mem.calls(cid)[0].answered_at is None
        await mem.engine.stop()

        def client(name: str, config: ServerConfig) -> ami.AMIClient:
            return ami.AMIClient(
                config.host, config.port, config.username, config.secret, events=config.events, name=name,
                connector=mem.pbx.connect_in_memory,
            )

        mem.engine = Engine(mem.sessions, {"default": SERVER}, clock=mem.clock, guard=AllowAll(), tick_s=mem.tick_s, client_factory=client)
        await mem.start()
        seen_back: list[float] = []

        def connected() -> bool:
            if owner in queue.members:
                seen_back.append(mem.clock.now())
            return mem.calls(cid)[0].agent_connected_at is not None

        await mem.run_until(connected, within_s=60, what="connected after the restart")
        assert seen_back == [], "the new olive put the owner back in the campaign queue before the connect"
        assert mem.calls(cid)[0].agent_interface == owner


class TestOwnerAway:
    async def test_after_the_plans_timeout_anyone_takes_it(self, session_factory: sessionmaker[Session], db_clean: SAEngine) -> None:
        """The owner is logged out: the callback waits (the guard: callback_owner_away) until the plan's
        callback_owner_timeout_s has passed, then goes to the free agent through the campaign's queue."""
        from olive.compliance import ComplianceGuard

        mem = await InMemory.create(session_factory, guard=ComplianceGuard())
        try:
            cid = make_campaign(
                mem.sessions, name="away", contacts=[number(1, 41)], retry_rules=ONCE, profile="none",
                callback_owner_timeout_s=120,
            )
            with transaction(mem.sessions) as s:
                s.scalars(select(Agent).where(Agent.name == "agent102")).one().state = "logged_out"
            due = mem.clock.now()
            _book(mem.sessions, cid, [number(1, 41)], "agent102", due)
            await mem.start()
            await mem.run_until(lambda: "callback_owner_away" in (mem.engine.note(cid) or ""), within_s=10, what="held back")
            await mem.run_for(60)
            assert mem.calls(cid) == [], "held for its owner"
            await mem.finish(cid, within_s=600)
            call = mem.calls(cid)[0]
            assert call.outcome == "CONNECTED"
            assert call.agent_interface == agent_interface("101")
            assert call.for_agent_id is None
            assert call.originated_at.timestamp() >= due + 120
        finally:
            await mem.stop()


class TestOwnerOnAnotherServer:
    async def test_this_engine_leaves_it_to_the_owners_server_until_the_timeout(self, mem: InMemory) -> None:
        """The owner's phone is on another server (``agents.server``): this engine's agents must not take
        the callback (it was taken by agent101 at once). It dials the ordinary contacts meanwhile, and
        only after the plan's callback_owner_timeout_s may anyone here take the callback."""
        owned, other = number(1, 51), number(1, 52)
        cid = make_campaign(mem.sessions, name="elsewhere", contacts=[owned, other], retry_rules=ONCE,
                            callback_owner_timeout_s=120)
        with transaction(mem.sessions) as s:
            s.scalars(select(Agent).where(Agent.name == "agent102")).one().server = "pbx-b"
        due = mem.clock.now()
        _book(mem.sessions, cid, [owned], "agent102", due)
        await mem.start()
        await mem.run_until(lambda: other in _calls(mem, cid), within_s=60, what="the ordinary contact dialed")
        await mem.run_for(60)
        assert owned not in _calls(mem, cid), "dialed here although its owner is on pbx-b"
        await mem.finish(cid, within_s=600)
        call = _calls(mem, cid)[owned]
        assert call.outcome == "CONNECTED"
        assert call.agent_interface == agent_interface("101")
        assert call.for_agent_id is None
        assert call.originated_at.timestamp() >= due + 120
