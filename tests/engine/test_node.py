"""Node runners sharing units on one PostgreSQL (issue 15): balance, death, partition, hand-over.

Each runner is one node with its own sessions; they step on a shared model
clock (``at`` for the database, ``monotonic`` for the nodes) so the test
knows exactly when each lease expires. After every step no unit may be
dialed by two nodes: ``may_dial`` (the node's own belief, by its clock) is
true for one node at most, and only while the database gives it the unit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from olive.engine import NodeRunner
from olive.engine._blind import BLIND_HOLD_S, LINK_DOWN_GRACE_S
from olive.engine._link import LinkState, PbxLink
from olive.engine._unit import FIRST_LOGIN_S, UnitEngines, link_health
from olive.store import (
    DOWN_HOLDS_S,
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    Plan,
    ServerLimits,
    StaleLease,
    UnitLease,
    claim_contacts,
    make_sessionmaker,
    register_servers,
    server_views,
    servers,
    set_campaign_servers,
    transaction,
    units,
)

pytestmark = pytest.mark.postgres

T0 = 1_790_000_000.0
TTL, STOP_EARLY = 6.0, 2.0
SERVERS = ("pbx-a", "pbx-b")


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


@dataclass
class ModelClock:
    t: float = 0.0

    def monotonic(self) -> float:
        return self.t

    def wall(self) -> float:
        return T0 + self.t


@dataclass
class Worker:
    """Records what the runner asked of the unit's work."""

    clock: ModelClock
    events: list[tuple[float, str, tuple[str, str], int]] = field(default_factory=list)

    def start(self, lease: UnitLease) -> None:
        self.events.append((self.clock.t, "start", lease.key, lease.token))

    def stop(self, lease: UnitLease, why: str) -> None:
        self.events.append((self.clock.t, "stop", lease.key, lease.token))


def node(sessions: sessionmaker[Session], name: str, clock: ModelClock, worker: Worker | None = None) -> NodeRunner:
    return NodeRunner(sessions, name, worker or Worker(clock), ttl_s=TTL, stop_early_s=STOP_EARLY,
                      monotonic=clock.monotonic, wall=clock.wall)


@pytest.fixture
def keys(session_factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    """Three running campaigns on both servers: six units."""
    with transaction(session_factory) as s:
        register_servers(s, {name: ServerLimits() for name in SERVERS})
        plan = Plan(name="p", channel_template="PJSIP/{number}@trunk")
        s.add(plan)
        s.flush()
        for i in range(3):
            campaign = Campaign(name=f"c{i}", plan_id=plan.id, queue="sales", status="running",
                                dial_lists=[DialList(name=f"l{i}")])
            s.add(campaign)
            s.flush()
            set_campaign_servers(s, campaign.id, list(SERVERS))
    with transaction(session_factory) as s:
        return sorted((u.campaign_id, u.server) for u in units(s))


def check(runners: list[NodeRunner], keys: list[tuple[str, str]], sessions: sessionmaker[Session], clock: ModelClock) -> None:
    with transaction(sessions) as s:
        rows = {(u.campaign_id, u.server): u for u in units(s)}
    for key in keys:
        dialers = [r for r in runners if r.may_dial(key)]
        assert len(dialers) <= 1, f"{key} dialed by {[r.name for r in dialers]} at t={clock.t}"
        for r in dialers:
            row = rows[key]
            assert (row.owner_node, row.token) == (r.name, r.leases[key].token), f"{r.name} dials {key} it does not own"
            assert row.expires_at is not None and row.expires_at - clock.wall() >= STOP_EARLY - 1e-6


def run(runners: list[NodeRunner], keys: list[tuple[str, str]], sessions: sessionmaker[Session], clock: ModelClock,
        seconds: float, every: float = 0.5) -> None:
    end = clock.t + seconds
    while clock.t < end - 1e-9:
        clock.t += every
        for r in runners:
            r.step()
            check(runners, keys, sessions, clock)


def test_two_nodes_share_the_units_evenly(session_factory: sessionmaker[Session], keys: list[tuple[str, str]]) -> None:
    clock = ModelClock()
    a = node(session_factory, "a", clock)
    a.step()
    assert sorted(a.working) == keys, "alone, a node takes every unit"
    b = node(session_factory, "b", clock)
    run([a, b], keys, session_factory, clock, 3)
    assert len(a.working) == len(b.working) == 3 and not a.working & b.working
    handed = [e for e in a.worker.events if e[1] == "stop"]  # type: ignore[attr-defined]
    assert len(handed) == 3, "a stopped the three it handed over before releasing them"


def test_a_dead_nodes_units_move_within_seven_seconds(session_factory: sessionmaker[Session], keys: list[tuple[str, str]]) -> None:
    clock = ModelClock()
    a, b = node(session_factory, "a", clock), node(session_factory, "b", clock)
    run([a, b], keys, session_factory, clock, 4)
    held_by_a = sorted(a.leases)
    assert len(held_by_a) == 3
    # a dies (kill -9): no more steps, no goodbye. Its leases expire TTL after its last renewal.
    with transaction(session_factory) as s:
        expiry = max(u.expires_at or 0 for u in units(s) if u.owner_node == "a") - T0
    died = clock.t
    took: dict[tuple[str, str], float] = {}
    while clock.t < died + 12:
        clock.t += 1.0
        b.step()
        check([a, b], keys, session_factory, clock)
        for key in held_by_a:
            if key in b.working and key not in took:
                took[key] = clock.t
    assert sorted(took) == held_by_a and sorted(b.working) == keys
    assert all(expiry <= t <= expiry + 1.0 for t in took.values()), (took, expiry)
    assert max(took.values()) - died <= 7.0, "taken within 7 s of the death (the lease, then one look)"
    tokens = {e[2]: e[3] for e in b.worker.events if e[1] == "start"}  # type: ignore[attr-defined]
    assert all(tokens[key] > a.leases[key].token for key in held_by_a), "new owner, newer tokens"


def test_a_node_cut_off_from_the_database_stops_before_anyone_may_start(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    clock = ModelClock()
    a, b = node(session_factory, "a", clock), node(session_factory, "b", clock)
    run([a, b], keys, session_factory, clock, 4)
    held_by_a = sorted(a.working)
    last_renewed = {key: a.deadline[key] - (TTL - STOP_EARLY) for key in held_by_a}
    unreachable: Engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    a.sessions = make_sessionmaker(unreachable)  # a partition: a still runs, its database is gone
    cut = clock.t
    run([a, b], keys, session_factory, clock, 12)  # checks after every step: never two dialers
    stops = {e[2]: e[0] for e in a.worker.events if e[1] == "stop" and e[0] > cut}  # type: ignore[attr-defined]
    assert sorted(stops) == held_by_a
    for key in held_by_a:
        assert stops[key] <= last_renewed[key] + TTL - STOP_EARLY + 0.5, "stopped by its own clock, in time"
    assert sorted(b.working) == keys, "b took every unit once a's leases ran out"
    unreachable.dispose()


def test_a_clean_stop_hands_the_units_over_at_the_next_look(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    clock = ModelClock()
    a, b = node(session_factory, "a", clock), node(session_factory, "b", clock)
    run([a, b], keys, session_factory, clock, 4)
    a.leave()
    assert not a.working and all(e[1] == "stop" for e in a.worker.events[-3:])  # type: ignore[attr-defined]
    clock.t += 1.0
    b.step()
    assert sorted(b.working) == keys


def test_a_second_process_under_a_live_nodes_name_takes_nothing(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    clock = ModelClock()
    first, twin = node(session_factory, "a", clock), node(session_factory, "a", clock)
    first.step()
    twin.step()
    assert not twin.registered and not twin.working and sorted(first.working) == keys


def test_a_frozen_node_wakes_to_find_its_units_taken_and_its_writes_refused(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    """A long pause (GC, SIGSTOP, a paused VM): the others take over; the sleeper's claims are refused."""
    with transaction(session_factory) as s:
        for dial_list in s.scalars(select(DialList)):
            for k in range(30):
                s.add(Contact(dial_list_id=dial_list.id, numbers=[ContactNumber(position=0, number=f"+1555{k:07d}")]))
    clock = ModelClock()
    a, b = node(session_factory, "a", clock), node(session_factory, "b", clock)
    claimed: list[tuple[str, str]] = []

    def dial(runners: list[NodeRunner]) -> None:
        """Each node claims one contact for every unit it may dial, fenced by its lease."""
        for r in runners:
            for key in sorted(r.leases):
                if r.may_dial(key):
                    with transaction(session_factory) as s:
                        claimed.extend((c.contact_id, r.name) for c in claim_contacts(s, r.leases[key], 1, at=clock.wall()))

    for _ in range(8):  # 4 s of both working
        clock.t += 0.5
        for r in (a, b):
            r.step()
        dial([a, b])
    mine = dict(a.leases)
    for _ in range(20):  # a sleeps 10 s; b carries on
        clock.t += 0.5
        b.step()
        check([a, b], keys, session_factory, clock)
        dial([b])
    assert sorted(b.working) == keys
    assert not any(a.may_dial(key) for key in mine), "by its own clock, the sleeper knows it may not dial"
    for lease in mine.values():  # and if it tried anyway, the database refuses
        with pytest.raises(StaleLease), transaction(session_factory) as s:
            claim_contacts(s, lease, 1, at=clock.wall())
    run([a, b], keys, session_factory, clock, 6)  # a wakes: gives up what it lost, gets its share back
    assert len(a.working) == len(b.working) == 3
    contacts = [contact for contact, _ in claimed]
    assert len(contacts) == len(set(contacts)) > 0, "no contact claimed twice, across the takeover"


@dataclass
class SeeingWorker(Worker):
    """A worker whose links see each server as the test says (``UnitEngines.server_health``)."""

    seen: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def server_health(self) -> dict[str, tuple[str, str | None]]:
        return dict(self.seen)


def _health(sessions: sessionmaker[Session]) -> dict[str, tuple[str, str | None]]:
    with transaction(sessions) as s:
        return {srv.name: (srv.health, srv.health_note) for srv in servers(s)}


def test_the_owner_writes_its_links_health_and_a_down_server_keeps_its_units_with_it(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    clock = ModelClock()
    worker = SeeingWorker(
        clock, seen={"pbx-a": ("up", None), "pbx-b": ("down", "AMI connection lost; reconnecting")}
    )
    a = node(session_factory, "a", clock, worker)
    run([a], keys, session_factory, clock, 1)  # takes all six units; the next renewal writes the health
    run([a], keys, session_factory, clock, TTL / 3)
    assert _health(session_factory) == {
        "pbx-a": ("up", None),
        "pbx-b": ("down", "AMI connection lost; reconnecting"),
    }
    assert sorted(a.working) == keys, (
        "the owner keeps renewing the units of the server it reconnects to"
    )
    # The owner dies while pbx-b is down: pbx-a's units move at once; pbx-b's wait while the "down" is fresh
    # (nobody else could dial there), then move, so a "down" left by a dead owner holds nothing for ever.
    b = node(session_factory, "b", clock)
    run([b], keys, session_factory, clock, TTL + 2)
    assert sorted(b.working) == [k for k in keys if k[1] == "pbx-a"]
    run([b], keys, session_factory, clock, DOWN_HOLDS_S)
    assert sorted(b.working) == keys


def test_a_server_back_is_written_up_and_a_node_holding_no_unit_there_writes_nothing(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    clock = ModelClock()
    worker = SeeingWorker(
        clock, seen={"pbx-b": ("down", "reconnected; reconciling calls and queue members")}
    )
    a = node(session_factory, "a", clock, worker)
    run([a], keys, session_factory, clock, 3)
    assert _health(session_factory)["pbx-b"][0] == "down"
    worker.seen = {"pbx-b": ("up", None), "pbx-elsewhere": ("down", "not a server of its units")}
    run([a], keys, session_factory, clock, TTL / 3)
    assert _health(session_factory) == {"pbx-a": ("unknown", None), "pbx-b": ("up", None)}


def test_two_nodes_that_see_a_server_differently_do_not_make_its_health_flip(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    # a cannot reach pbx-a (a partition, its link reconnecting); b's link there is up. Both hold
    # units on pbx-a and write with every renewal: the pool's health must not be whoever wrote last.
    clock = ModelClock()
    lost = ("down", "AMI connection lost; reconnecting")
    a = node(session_factory, "a", clock, SeeingWorker(clock, seen={"pbx-a": lost, "pbx-b": ("up", None)}))
    b = node(session_factory, "b", clock, SeeingWorker(clock, seen={"pbx-a": ("up", None), "pbx-b": ("up", None)}))
    run([a, b], keys, session_factory, clock, 3)
    assert {s for _, s in a.working} == {s for _, s in b.working} == {"pbx-a", "pbx-b"}, "both hold units on both"
    seen = []
    for _ in range(12):  # 6 s: three renewals of each, in turn
        clock.t += 0.5
        for r in (a, b):
            r.step()
            seen.append((r.name, _health(session_factory)["pbx-a"][0]))
    assert {health for _, health in seen} == {"up"}, f"pbx-a's health after each node's step: {seen}"
    assert _health(session_factory)["pbx-a"] == ("up", "up (a sees it down: AMI connection lost; reconnecting)")


def test_a_node_that_no_longer_holds_units_on_a_server_withdraws_its_view(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    # a sees pbx-a up, b sees it down. Then a's units on pbx-a go (their campaigns leave pbx-a): a
    # no longer renews its view there, which must not keep pbx-a up for DOWN_HOLDS_S more.
    clock = ModelClock()
    a = node(session_factory, "a", clock, SeeingWorker(clock, seen={"pbx-a": ("up", None), "pbx-b": ("up", None)}))
    b = node(session_factory, "b", clock, SeeingWorker(clock, seen={"pbx-a": ("down", "Asterisk is shutting down"),
                                                                    "pbx-b": ("up", None)}))
    run([a, b], keys, session_factory, clock, 3)
    assert _health(session_factory)["pbx-a"] == ("up", "up (b sees it down: Asterisk is shutting down)")
    moved = sorted(campaign for campaign, server in a.working if server == "pbx-a")
    assert moved and any(server == "pbx-a" for _, server in b.working)
    with transaction(session_factory) as s:
        for campaign in moved:
            set_campaign_servers(s, campaign, ["pbx-b"])
    left = [k for k in keys if not (k[0] in moved and k[1] == "pbx-a")]
    run([a, b], left, session_factory, clock, TTL / 3 + 0.5)  # one renewal of each
    assert {server for _, server in a.working} == {"pbx-b"}
    assert _health(session_factory)["pbx-a"] == ("down", "Asterisk is shutting down")
    with transaction(session_factory) as s:
        assert [(v.server, v.node) for v in server_views(s, at=clock.wall())] == [
            ("pbx-a", "b"), ("pbx-b", "a"), ("pbx-b", "b")
        ]


@dataclass
class BrokenEyes(Worker):
    def server_health(self) -> dict[str, tuple[str, str | None]]:
        raise RuntimeError("dictionary changed size during iteration")


def test_a_failure_to_see_the_servers_costs_no_renewal(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    clock = ModelClock()
    a = node(session_factory, "a", clock, BrokenEyes(clock))
    run([a], keys, session_factory, clock, 3 * TTL)
    assert sorted(a.working) == keys and all(a.may_dial(k) for k in keys), "renewed and dialing throughout"
    assert [e for e in a.worker.events if e[1] == "stop"] == []  # type: ignore[attr-defined]

class _Client:
    def on_event(self, h: object) -> None: ...
    def on_connect(self, h: object) -> None: ...
    def on_disconnect(self, h: object) -> None: ...


def test_a_link_is_up_only_once_reconciled_and_its_queue_members_confirmed() -> None:
    link = PbxLink("pbx-a", _Client(), ManualClock(0.0))  # type: ignore[arg-type]
    seen = []
    for state, confirmed in (
        (LinkState.DISCONNECTED, False),
        (LinkState.RECONCILING, False),
        (LinkState.READY, False),
        (LinkState.READY, True),
        (LinkState.SHUTTING_DOWN, True),
    ):
        link.state, link.membership_confirmed = state, confirmed
        seen.append(link_health(link)[0])
    assert seen == ["down", "down", "down", "up", "down"]


def test_a_new_engine_not_logged_in_yet_says_nothing_of_its_server_at_first_then_down() -> None:
    # A takeover's new engine has not logged in yet: writing "down" then would keep other nodes off a
    # server that is fine. After FIRST_LOGIN_S without a login, the server is down.
    now = [100.0]
    loop = asyncio.new_event_loop()
    loop.close()  # never run: server_health only reads the engines' links
    units = UnitEngines(loop, lambda scope: None, monotonic=lambda: now[0])  # type: ignore[arg-type,return-value]
    fresh = PbxLink("pbx-a", _Client(), ManualClock(0.0))  # type: ignore[arg-type]
    fresh.client.connections = 0  # type: ignore[attr-defined]
    up = PbxLink("pbx-b", _Client(), ManualClock(0.0))  # type: ignore[arg-type]
    up.client.connections = 1  # type: ignore[attr-defined]
    up.state, up.membership_confirmed = LinkState.READY, True
    units.engines[("c1", "pbx-a")] = SimpleNamespace(links={"pbx-a": fresh})  # type: ignore[assignment]
    units.engines[("c1", "pbx-b")] = SimpleNamespace(links={"pbx-b": up})  # type: ignore[assignment]
    units.since = {("c1", "pbx-a"): now[0], ("c1", "pbx-b"): now[0]}
    assert units.server_health() == {"pbx-b": ("up", None)}
    now[0] += FIRST_LOGIN_S
    assert units.server_health() == {"pbx-a": ("down", "AMI connection lost; reconnecting"), "pbx-b": ("up", None)}

class ManualClock:
    scale = 1.0

    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        return None


UP: tuple[str, str | None] = ("up", None)
LOST: tuple[str, str | None] = ("down", "AMI connection lost; reconnecting")
GRACE = LINK_DOWN_GRACE_S


def on(runner: NodeRunner, server: str) -> set[tuple[str, str]]:
    return {k for k in runner.working if k[1] == server}


def two_nodes_seeing_both(
    sessions: sessionmaker[Session], keys: list[tuple[str, str]], clock: ModelClock
) -> tuple[SeeingWorker, SeeingWorker, NodeRunner, NodeRunner]:
    """a and b, whose links see both servers up, after 3 s of looks: each holds units on both."""
    seen_a, seen_b = (SeeingWorker(clock, seen={"pbx-a": UP, "pbx-b": UP}) for _ in range(2))
    a, b = node(sessions, "a", clock, seen_a), node(sessions, "b", clock, seen_b)
    run([a, b], keys, sessions, clock, 3)
    return seen_a, seen_b, a, b


def test_a_node_that_cannot_reach_a_server_others_reach_hands_its_units_there_over(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    # A partial partition: a's links to pbx-a are cut, b's are fine. a's units on pbx-a place no call; after
    # the grace they go to b (which reaches pbx-a), and a does not take them back while it cannot reach it.
    clock = ModelClock()
    seen_a, _, a, b = two_nodes_seeing_both(session_factory, keys, clock)
    blind = sorted(on(a, "pbx-a"))
    assert blind and on(b, "pbx-a"), "both hold units on pbx-a"
    seen_a.seen = {"pbx-a": LOST, "pbx-b": UP}
    cut = clock.t
    handed = None
    while clock.t < cut + GRACE + 20:
        run([a, b], keys, session_factory, clock, 0.5)
        if handed is None and not on(a, "pbx-a"):
            handed = clock.t
    assert handed is not None, f"a still holds {sorted(on(a, 'pbx-a'))} on pbx-a, which it cannot reach"
    assert handed - cut >= GRACE - TTL / 3, f"handed over {handed - cut:g} s after the cut: not a reconnect's blip"
    assert on(b, "pbx-a") == {k for k in keys if k[1] == "pbx-a"}, "b holds every unit of pbx-a"
    assert sorted(a.working) + sorted(b.working) and set(a.working) | set(b.working) == set(keys), "every unit held"
    stops = [e for e in a.worker.events if e[1] == "stop" and e[2] in blind]  # type: ignore[attr-defined]
    assert {e[2] for e in stops} == set(blind), "a stopped dialing them before releasing them"
    run([a, b], keys, session_factory, clock, 20)  # a stays blind: it takes none back
    assert not on(a, "pbx-a") and not any(e[1] == "start" and e[2][1] == "pbx-a" and e[0] > handed
                                          for e in a.worker.events)  # type: ignore[attr-defined]
    assert abs(len(a.working) - len(b.working)) <= 1, (sorted(a.working), sorted(b.working))
    assert _health(session_factory)["pbx-a"] == ("up", f"up (a sees it down: its links were down {handed - cut - 1:.0f} s: "
                                                       "its units here handed over)")


def test_a_server_down_for_every_node_keeps_its_units_where_they_are(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    clock = ModelClock()
    seen_a, seen_b, a, b = two_nodes_seeing_both(session_factory, keys, clock)
    held = (set(a.working), set(b.working))
    seen_a.seen = seen_b.seen = {"pbx-a": LOST, "pbx-b": UP}
    run([a, b], keys, session_factory, clock, 3 * GRACE)
    assert (set(a.working), set(b.working)) == held, "nobody reaches pbx-a: moving its units would only cost adoptions"


def test_a_blind_node_takes_the_servers_units_again_once_nobody_else_sees_it_up_or_its_hold_is_over(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    clock = ModelClock()
    seen_a, _, a, b = two_nodes_seeing_both(session_factory, keys, clock)
    seen_a.seen = {"pbx-a": LOST, "pbx-b": UP}
    run([a, b], keys, session_factory, clock, GRACE + 5)
    assert not on(a, "pbx-a")
    # b stops cleanly while a is still blind: nobody sees pbx-a up, so a takes its units (it is as good as any),
    # once a's own last "down" there is no longer fresh (DOWN_HOLDS_S: nobody could dial pbx-a meanwhile).
    b.leave()
    run([a], keys, session_factory, clock, DOWN_HOLDS_S + 1)
    assert sorted(a.working) == keys
    # b is back and a's link too (a new engine has logged in): it keeps them, none is skipped.
    seen_a.seen = {"pbx-a": UP, "pbx-b": UP}
    b = node(session_factory, "b", clock, SeeingWorker(clock, seen={"pbx-a": UP, "pbx-b": UP}))
    run([a, b], keys, session_factory, clock, TTL)
    assert on(a, "pbx-a") and on(b, "pbx-a") and len(a.working) == len(b.working) == 3


def test_a_blind_node_after_its_hold_takes_units_there_like_any_node(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    clock = ModelClock()
    seen_a, _, a, b = two_nodes_seeing_both(session_factory, keys, clock)
    seen_a.seen = {"pbx-a": LOST, "pbx-b": UP}
    run([a, b], keys, session_factory, clock, GRACE + 5)
    handed = max(a.handed_at.values())
    run([a, b], keys, session_factory, clock, handed + BLIND_HOLD_S + TTL - clock.t)
    with transaction(session_factory) as s:
        assert [v.node for v in server_views(s, at=clock.wall()) if v.server == "pbx-a"] == ["b"], "a's view withdrawn"
    # The hold is over: a pbx-a unit freed (b stops) goes to a like any unit.
    b.leave()
    run([a], keys, session_factory, clock, 1)
    assert sorted(a.working) == keys


# -- probes: what a node reaches where it holds no unit (engine/_probe.py) -----------------------------------------
PROBED_UP: tuple[str, str | None] = ("up", "this node reaches it (AMI login; no unit here)")
PROBED_DOWN: tuple[str, str | None] = ("down", "this node cannot reach it (AMI login)")


@dataclass
class ProbingWorker(SeeingWorker):
    """Links as ``seen`` says for the servers of its units; a probe to every server as ``probed`` says."""

    probed: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def probe_health(self) -> dict[str, tuple[str, str | None]]:
        return dict(self.probed)


def reaching(clock: ModelClock) -> ProbingWorker:
    """A node whose links and probes reach both servers."""
    return ProbingWorker(clock, seen={"pbx-a": UP, "pbx-b": UP}, probed={"pbx-a": PROBED_UP, "pbx-b": PROBED_UP})


def only_c0_on_pbx_a(sessions: sessionmaker[Session], keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """c1 and c2 dial on pbx-b only: four units, one of them on pbx-a."""
    with transaction(sessions) as s:
        for campaign in sorted({c for c, _ in keys})[1:]:
            set_campaign_servers(s, campaign, ["pbx-b"])
    return [k for k in keys if k[0] == keys[0][0] or k[1] == "pbx-b"]


def a_alone_on_pbx_a(
    sessions: sessionmaker[Session], keys: list[tuple[str, str]], clock: ModelClock
) -> tuple[ProbingWorker, ProbingWorker, NodeRunner, NodeRunner, list[tuple[str, str]]]:
    """a takes every unit, then b joins and takes its share: a ends up the only node with a unit on pbx-a.
    Both reach both servers, by their links and their probes, until the test says otherwise."""
    keys = only_c0_on_pbx_a(sessions, keys)
    worker_a, worker_b = reaching(clock), reaching(clock)
    a = node(sessions, "a", clock, worker_a)
    run([a], keys, sessions, clock, 1)
    b = node(sessions, "b", clock, worker_b)
    run([a, b], keys, sessions, clock, 3)
    assert on(a, "pbx-a") == {k for k in keys if k[1] == "pbx-a"} and not on(b, "pbx-a"), (a.working, b.working)
    return worker_a, worker_b, a, b, keys


def test_the_only_holder_cut_off_from_a_server_hands_it_to_a_node_whose_probe_reaches_it(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    # a holds the only unit on pbx-a and its link there is cut; b holds nothing on pbx-a, but its probe logs
    # in. Before probes nobody else had a view of pbx-a: a kept a unit it could not dial for as long as the cut.
    clock = ModelClock()
    seen_a, _, a, b, keys = a_alone_on_pbx_a(session_factory, keys, clock)
    assert _health(session_factory)["pbx-a"][0] == "up"
    with transaction(session_factory) as s:
        assert {(v.server, v.node) for v in server_views(s, at=clock.wall())} >= {("pbx-a", "a"), ("pbx-a", "b")}, \
            "b's probe is a view of pbx-a, where it holds no unit"
    blind = on(a, "pbx-a")
    seen_a.seen = {"pbx-a": LOST, "pbx-b": UP}
    seen_a.probed = {"pbx-a": PROBED_DOWN, "pbx-b": PROBED_UP}
    cut = clock.t
    run([a, b], keys, session_factory, clock, GRACE + 10)
    assert on(b, "pbx-a") == blind and not on(a, "pbx-a"), (sorted(a.working), sorted(b.working))
    moved = max(e[0] for e in b.worker.events if e[1] == "start" and e[2] in blind)  # type: ignore[attr-defined]
    assert GRACE - TTL / 3 <= moved - cut <= GRACE + TTL, f"moved {moved - cut:g} s after the cut"
    # The cut heals: a's probe logs in again, so its hold on pbx-a ends long before BLIND_HOLD_S, and a
    # pbx-a unit set free goes to it like any unit.
    handed = a.handed_at["pbx-a"]
    seen_a.seen = {"pbx-a": UP, "pbx-b": UP}
    seen_a.probed = {"pbx-a": PROBED_UP, "pbx-b": PROBED_UP}
    run([a, b], keys, session_factory, clock, TTL)
    assert a.handed_at == {} and clock.t - handed < BLIND_HOLD_S / 2
    assert _health(session_factory)["pbx-a"] == ("up", None), "nobody sees it down any more (b holds it: its link speaks)"
    b.leave()
    run([a], keys, session_factory, clock, 1)
    assert sorted(a.working) == keys


def test_a_blind_nodes_hold_lasts_while_its_probe_has_not_seen_the_cut(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    # a's link to pbx-a stays down (reconciling, say) while its probe logs in all along: not a cut the probe
    # can see heal, so the hold runs its course (no unit bounced back to a link that could not dial it).
    clock = ModelClock()
    seen_a, _, a, b, keys = a_alone_on_pbx_a(session_factory, keys, clock)
    seen_a.seen = {"pbx-a": ("down", "reconnected; reconciling calls and queue members"), "pbx-b": UP}
    run([a, b], keys, session_factory, clock, GRACE + 10)
    assert not on(a, "pbx-a") and "pbx-a" in a.handed_at
    run([a, b], keys, session_factory, clock, BLIND_HOLD_S / 2)
    assert "pbx-a" in a.handed_at and not on(a, "pbx-a")


def test_after_an_outage_every_node_saw_the_holder_keeps_its_units_if_back_within_the_grace(
    session_factory: sessionmaker[Session], keys: list[tuple[str, str]]
) -> None:
    # pbx-a restarts for a minute: a's link and both probes see it down. b's probe is back first; a's link
    # follows within the grace (its reconnect backoff): a keeps its unit, no adoption for nothing.
    clock = ModelClock()
    seen_a, seen_b, a, b, keys = a_alone_on_pbx_a(session_factory, keys, clock)
    held = on(a, "pbx-a")
    seen_a.seen = {"pbx-a": LOST, "pbx-b": UP}
    seen_a.probed = seen_b.probed = {"pbx-a": PROBED_DOWN, "pbx-b": PROBED_UP}
    run([a, b], keys, session_factory, clock, 60)
    assert on(a, "pbx-a") == held, "down for every node: kept"
    seen_b.probed = {"pbx-a": PROBED_UP, "pbx-b": PROBED_UP}
    run([a, b], keys, session_factory, clock, GRACE - TTL / 3 - 2)
    seen_a.seen = {"pbx-a": UP, "pbx-b": UP}
    seen_a.probed = {"pbx-a": PROBED_UP, "pbx-b": PROBED_UP}
    run([a, b], keys, session_factory, clock, 2 * GRACE)
    assert on(a, "pbx-a") == held and not on(b, "pbx-a")
    assert not [e for e in a.worker.events if e[1] == "stop" and e[2] in held]  # type: ignore[attr-defined]
