"""One campaign dials through two Asterisk servers (issue 15), in one process against two simulators.

Each agent belongs to the server where their phone registers (``agents.server``;
none: the campaign's first server, ``campaigns.server``). The campaign has a unit
on each of its servers; each unit's engine paces only the campaign's agents on
its server, puts only them in its server's queue and originates only there, so
an answered call is taken by an agent of the server it was placed on (the
2-second hand-off stays local). Both units claim from the campaign's one set of
contacts: none is dialed by both.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, update

from e2e.harness import (
    QUEUE,
    Olive,
    agent_interface,
    make_campaign,
    number,
)
from faults.checks import abandon_rate, assert_no_contact_dialed_twice_at_once
from olive.ami import ServerConfig
from olive.engine import Engine
from olive.engine._unit_scope import UnitScope
from olive.store import (
    Agent,
    Call,
    Contact,
    ServerLimits,
    UnitLease,
    acquire_units,
    register_servers,
    set_campaign_servers,
    transaction,
)

pytestmark = pytest.mark.postgres

ON_A = ["801", "802"]  # no server: the campaign's first server, "default"
ON_B = ["803", "804"]  # agents.server = "pbx-b"
RULES = {k: {"max_attempts": 2, "delay_s": 20} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


def config_of(pbx: Any) -> ServerConfig:
    return ServerConfig("127.0.0.1", pbx.port, "olive", "olive-test")


def actions(pbx: Any, name: str) -> list[Any]:
    return [r.action for r in pbx.actions if r.action.name == name]


def two_server_campaign(olive: Olive, name: str, contacts: list[str], *, b_agents: list[str] = ON_B) -> str:
    cid = make_campaign(olive.sessions, name=name, contacts=contacts, agents=[*ON_A, *b_agents], retry_rules=RULES)
    with transaction(olive.sessions) as s:
        interfaces = [agent_interface(a) for a in b_agents]
        if interfaces:
            s.execute(update(Agent).where(Agent.interface.in_(interfaces)).values(server="pbx-b"))
        register_servers(s, {"default": ServerLimits(), "pbx-b": ServerLimits()})
        set_campaign_servers(s, cid, ["default", "pbx-b"])
    return cid


def units_engines(olive: Olive, pbx_b: Any) -> dict[str, Engine]:
    """node-a takes both units; one engine per unit, each with its own server's link only."""
    with transaction(olive.sessions) as s:
        leases: list[UnitLease] = acquire_units(s, "node-a", 600.0, limit=2)
    assert sorted(lease.server for lease in leases) == ["default", "pbx-b"]
    links = {"default": olive.target.server, "pbx-b": config_of(pbx_b)}
    return {
        lease.server: Engine(olive.sessions, {lease.server: links[lease.server]}, clock=olive.target.clock,
                             guard=olive.guard, tick_s=0.5, unit=UnitScope(lease, lambda: True))
        for lease in leases
    }


async def stop_all(engines: dict[str, Engine]) -> None:
    for engine in engines.values():
        await engine.stop()


async def test_a_campaign_with_agents_on_two_servers_dials_on_both_each_call_taken_on_its_own_server(
    olive: Olive, pbx_b: Any
) -> None:
    contacts = [number(1, 100 + i) for i in range(24)] + [number(2, 100 + i) for i in range(4)]
    cid = two_server_campaign(olive, "two servers", contacts)
    engines = units_engines(olive, pbx_b)
    try:
        for engine in engines.values():
            await engine.start()
        olive.engine = engines["default"]
        report = await olive.finish(cid, within_s=3 * 3600)
    finally:
        await stop_all(engines)
        olive.engine = None
    pbx_a = olive.target.pbx
    calls = olive.calls(cid)
    on_a = {a.get("ChannelId") for a in actions(pbx_a, "Originate")}
    on_b = {a.get("ChannelId") for a in actions(pbx_b, "Originate")}
    assert on_a and on_b, f"dialed on default: {len(on_a)}, on pbx-b: {len(on_b)}"
    assert not on_a & on_b
    # Each call row names the server it was originated on, and each Originate has its row.
    assert {c.id for c in calls if c.server == "default"} == on_a
    assert {c.id for c in calls if c.server == "pbx-b"} == on_b
    # Each customer was taken by an agent of the server the call was placed on.
    taken = [c for c in calls if c.agent_interface]
    assert taken
    for call in taken:
        wanted = ON_A if call.server == "default" else ON_B
        assert call.agent_interface in {agent_interface(a) for a in wanted}, (call.server, call.agent_interface)
    # Nobody was put in the other server's queue.
    assert {a.get("Interface") for a in actions(pbx_a, "QueueAdd")} <= {agent_interface(a) for a in ON_A}
    assert {a.get("Interface") for a in actions(pbx_b, "QueueAdd")} == {agent_interface(a) for a in ON_B}
    assert {m.interface for m in pbx_b.queue_members(QUEUE)} <= {agent_interface(a) for a in ON_B}
    # One set of contacts for both units: none dialed twice at once, none left claimed.
    assert_no_contact_dialed_twice_at_once(calls)
    assert report.contacts.get("dialing", 0) == 0
    with transaction(olive.sessions) as s:
        claimed_by = {c.id: c.claim_server for c in s.scalars(select(Contact))}
    assert {claimed_by[c.contact_id or ""] for c in calls} <= {"default", "pbx-b"}
    abandoned, live = abandon_rate(calls)
    assert live > 0 and abandoned <= 0.03 * live, f"{abandoned} abandoned of {live} live answers"


async def test_a_unit_on_a_server_without_the_campaigns_agents_dials_nothing_and_says_why(
    olive: Olive, pbx_b: Any
) -> None:
    cid = two_server_campaign(olive, "no agents on b", [number(1, 300 + i) for i in range(8)], b_agents=[])
    engines = units_engines(olive, pbx_b)
    try:
        for engine in engines.values():
            await engine.start()
        olive.engine = engines["default"]
        await olive.until(lambda: bool(actions(olive.target.pbx, "Originate")), within_s=120, what="dialing on default")
        await olive.until(lambda: engines["pbx-b"].note(cid) is not None, within_s=30, what="pbx-b's note")
        note = engines["pbx-b"].note(cid) or ""
        await asyncio.sleep(0.5)
    finally:
        await stop_all(engines)
        olive.engine = None
    assert "none of the campaign's agents is on this server" in note, note
    assert actions(pbx_b, "Originate") == []
    assert actions(pbx_b, "QueueAdd") == []
    with transaction(olive.sessions) as s:
        assert s.scalars(select(Call.id).where(Call.server == "pbx-b")).all() == []


async def test_a_classic_engine_leaves_an_agent_of_another_server_out_of_its_campaigns_queue(olive: Olive) -> None:
    """Without ``--scale-out`` a campaign dials on ``campaigns.server`` only: an agent whose phone is
    on another server is neither paced for nor put in its queue (they would never get the calls)."""
    cid = make_campaign(olive.sessions, name="classic", contacts=[number(1, 400 + i) for i in range(10)],
                        agents=["801", "803"], retry_rules=RULES)
    with transaction(olive.sessions) as s:
        s.execute(update(Agent).where(Agent.interface == agent_interface("803")).values(server="pbx-b"))
    await olive.start()
    await olive.finish(cid, within_s=3 * 3600)
    added = {a.get("Interface") for a in actions(olive.target.pbx, "QueueAdd")}
    assert added == {agent_interface("801")}
    taken = {c.agent_interface for c in olive.calls(cid) if c.agent_interface}
    assert taken == {agent_interface("801")}


async def test_an_owned_callback_is_dialed_on_its_owners_server_and_reaches_the_owner(olive: Olive, pbx_b: Any) -> None:
    """Callbacks booked by agent 803, whose phone is on pbx-b: the default server's unit leaves them
    alone (its agents are not the owner), pbx-b's unit originates them there and 803 takes each."""
    from olive.compliance import schedule_callback
    from olive.store import ContactNumber

    owned = [number(1, 520 + i) for i in range(3)]
    others = [number(1, 500 + i) for i in range(12)]
    cid = two_server_campaign(olive, "owned on b", [*owned, *others])
    with transaction(olive.sessions) as s:
        owner_id = s.scalars(select(Agent.id).where(Agent.interface == agent_interface("803"))).one()
        for contact_id in s.scalars(select(ContactNumber.contact_id).where(ContactNumber.number.in_(owned))):
            schedule_callback(s, contact_id, cid, olive.target.clock.now(), agent_id=owner_id)
    engines = units_engines(olive, pbx_b)
    try:
        for engine in engines.values():
            await engine.start()
        olive.engine = engines["default"]
        await olive.finish(cid, within_s=3 * 3600)
    finally:
        await stop_all(engines)
        olive.engine = None
    calls = {c.number: c for c in olive.calls(cid)}
    for n in owned:
        assert calls[n].server == "pbx-b", (n, calls[n].server)
        assert calls[n].outcome == "CONNECTED", calls[n].detail
        assert calls[n].agent_interface == agent_interface("803"), (n, calls[n].agent_interface)
        assert calls[n].for_agent_id == owner_id
