"""What a unit's engine reads of its campaign (issue 15): the agents on its server, and its own history.

A campaign dials through several servers, one unit each. The unit on a server
paces the campaign's agents whose phones are there (``agents.server``; none:
the campaign's first server, ``campaigns.server``), sees its campaign on its
own server, and its abandon guard starts from its own server's live answers:
each unit keeps its own rate within the target, which is why the campaign's
(their weighted mean) is (docs/scale-out.md, "Pacing across servers").
"""

from __future__ import annotations

import time

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from olive.calls import AgentActivity, AgentChange, AgentStatus
from olive.engine import Engine
from olive.engine._campaigns import read_campaigns
from olive.engine._unit_scope import UnitScope
from olive.store import Agent, Campaign, UnitLease, from_epoch, transaction
from store.conftest import Factory


def setup(sessions: sessionmaker[Session], now: float) -> str:
    with transaction(sessions) as s:
        f = Factory(s)
        agents = [f.agent(name="on-first"), f.agent(name="on-a", server="pbx-a"), f.agent(name="on-b", server="pbx-b")]
        campaign = f.campaign(agents=agents, server="pbx-a", status="running")
        ended = from_epoch(now - 60)
        for server, outcome in [("pbx-a", "CONNECTED"), ("pbx-a", "CONNECTED"), ("pbx-b", "ABANDONED"),
                                ("pbx-b", "CONNECTED")]:
            f.call(campaign, None, server=server, outcome=outcome, state="ended", ended_at=ended,
                   originated_at=ended)
        return campaign.id


def scope(campaign_id: str, server: str) -> UnitScope:
    return UnitScope(UnitLease(campaign_id, server, "node-a", 1, time.time() + 60), lambda: True)


def test_each_unit_reads_its_servers_agents_and_history_and_sees_its_campaign_on_its_server(
    session_factory: sessionmaker[Session],
) -> None:
    now = time.time()
    cid = setup(session_factory, now)
    seen = {}
    for server in ("pbx-a", "pbx-b"):
        with transaction(session_factory) as s:
            seen[server] = read_campaigns(s, now, set(), scope(cid, server))
    a, b = seen["pbx-a"], seen["pbx-b"]
    assert [c.server for c in a.campaigns] == ["pbx-a"] and [c.server for c in b.campaigns] == ["pbx-b"]
    assert sorted(x.name for x in a.agents[cid]) == ["on-a", "on-first"]
    assert [x.name for x in b.agents[cid]] == ["on-b"]
    # Each unit's abandon guard starts from its own server's live answers.
    assert a.new_runners[cid].history.totals() == (2, 0, 0.0)  # (connected, abandoned, machines)
    assert b.new_runners[cid].history.totals() == (1, 1, 0.0)
    # The campaign's first server is never written over by what a unit sees.
    with transaction(session_factory) as s:
        assert s.scalar(select(Campaign.server).where(Campaign.id == cid)) == "pbx-a"


def test_an_engine_of_every_campaign_paces_only_the_agents_on_each_campaigns_own_server(
    session_factory: sessionmaker[Session],
) -> None:
    now = time.time()
    cid = setup(session_factory, now)
    with transaction(session_factory) as s:
        read = read_campaigns(s, now, set())
    assert [c.server for c in read.campaigns] == ["pbx-a"]
    assert sorted(x.name for x in read.agents[cid]) == ["on-a", "on-first"]
    assert sum(read.new_runners[cid].history.totals()[:2]) == 4  # the classic engine: the whole campaign


def test_a_units_engine_writes_the_states_of_its_own_campaigns_agents_only(
    session_factory: sessionmaker[Session],
) -> None:
    # Every unit engine on a server sees every agent's events there; three units writing each change
    # three times contended for the same rows (docs/scale-out.md). A classic engine writes them all.
    now = time.time()
    cid = setup(session_factory, now)
    with transaction(session_factory) as s:
        f = Factory(s)
        other = f.agent(name="other", interface="PJSIP/other", server="pbx-a")
        f.campaign(agents=[other], server="pbx-a", status="running")
        interfaces = {a.name: a.interface for a in s.scalars(select(Agent))}

    def talking(name: str) -> AgentChange:
        return AgentChange(AgentStatus(interfaces[name], name, AgentActivity.TALKING, now), AgentActivity.IDLE)

    def states() -> dict[str, str]:
        with transaction(session_factory) as s:
            return {a.name: a.state for a in s.scalars(select(Agent))}

    for unit, written in ((scope(cid, "pbx-a"), {"on-a"}), (None, {"on-a", "other"})):
        with transaction(session_factory) as s:
            s.execute(update(Agent).values(state="ready"))
        engine = Engine(session_factory, {}, unit=unit)
        refreshed = engine._read_refresh(now)
        engine._apply_refresh(refreshed, now)
        with transaction(session_factory) as s:
            engine._persist(s, [(None, [], [talking("on-a"), talking("other")])], [])  # type: ignore[list-item]
        assert {name for name, state in states().items() if state == "on_call"} == written, unit


def test_a_units_engine_locks_the_agents_it_writes_in_id_order_on_postgresql(
    session_factory: sessionmaker[Session],
) -> None:
    # Two unit engines on one server write an agent in two campaigns: in id order first, or they
    # deadlock (tests/store/test_agent_writes_order.py). A classic engine, the only writer, saves it.
    now = time.time()
    cid = setup(session_factory, now)
    with transaction(session_factory) as s:
        s.execute(update(Agent).values(state="ready"))
        interface = s.scalars(select(Agent.interface).where(Agent.name == "on-a")).one()
        bind = s.get_bind()
    talking = AgentChange(AgentStatus(interface, "on-a", AgentActivity.TALKING, now), AgentActivity.IDLE)
    postgresql = bind.dialect.name == "postgresql"
    texts: list[str] = []

    def keep(_c: object, _cur: object, statement: str, *_: object) -> None:
        texts.append(statement)

    for unit, locks in ((scope(cid, "pbx-a"), postgresql), (None, False)):
        engine = Engine(session_factory, {}, unit=unit)
        engine._apply_refresh(engine._read_refresh(now), now)
        texts.clear()
        event.listen(bind, "before_cursor_execute", keep)
        try:
            with transaction(session_factory) as s:
                engine._persist(s, [(None, [], [talking])], [])  # type: ignore[list-item]
        finally:
            event.remove(bind, "before_cursor_execute", keep)
        assert any(t.startswith("UPDATE agents") for t in texts), texts  # written
        assert any("FOR NO KEY UPDATE" in t and "agents" in t for t in texts) is locks, (unit, texts)
