"""Two olive nodes on one database (issue 10, item 6), dialing through the simulator.

Reported: two ``olive serve`` on one database both paced for the same agents and
the abandon rate reached 8.3 %. The dialing lease makes one node dial: a second
node refuses to start while the first renews it; when the first dies without a
goodbye, its lease expires and the standby (restarted by its supervisor) takes
over, picks up the dead node's calls, dials no contact twice and loses no record.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import Olive, make_campaign, number
from faults.checks import abandon_rate, assert_fault_invariants, crash
from olive.calls import CallState
from olive.engine import DialingLease, Engine, LeaseHeld

AGENTS = ["801", "802", "803"]
RULES = {k: {"max_attempts": 3, "delay_s": 20} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}
# The lease's time to live. olive ships 15 s (olive.engine._lease.TTL_S); at the harness's 40x
# that is 0.375 s of real time, less than a loaded machine's database thread can stall, so the
# live node's lease could lapse for real and the standby rightly start. 120 s (3 s real) tests
# the same rules.
TTL_S = 120.0
RETRY_S = 5.0  # the standby's supervisor restarts it this often (systemd RestartSec=5, docs/operations.md)


def node(olive: Olive, sessions: sessionmaker[Session], name: str) -> Engine:
    """One ``olive serve``'s engine: its own lease on the shared database, on the nodes' shared clock."""
    lease = DialingLease(sessions, name, ttl_s=TTL_S, wall=olive.target.clock.now)
    return Engine(sessions, {"default": olive.target.server}, clock=olive.target.clock, guard=olive.guard,
                  tick_s=0.5, lease=lease)


async def test_one_node_dials_and_a_standby_takes_over_when_it_dies(olive: Olive) -> None:
    pbx, clock = olive.target.pbx, olive.target.clock
    contacts = [number(1, 400 + i) for i in range(40)]
    cid = make_campaign(olive.sessions, name="two-nodes", contacts=contacts, agents=AGENTS, retry_rules=RULES)
    first = node(olive, olive.sessions, "node-a")
    await first.start()
    olive.engine = first  # stopped by the fixture if the test fails early
    await olive.until(
        lambda: sum(1 for r in first.links["default"].tracker.active() if r.state is CallState.CONNECTED) >= 2,
        within_s=120, what="the first node's agents talking",
    )
    # A second node on the same database refuses, with who holds the lease, and touches nothing.
    refused = 0
    standby = node(olive, olive.sessions, "node-b")
    try:
        await standby.start()
    except LeaseHeld as exc:
        refused += 1
        assert "node node-a holds the dialing lease" in str(exc)
    else:
        raise AssertionError("a second node started dialing on the same database")
    logins_before = sum(1 for r in pbx.actions if r.action.name == "Login")
    # The first node dies; its lease runs out TTL_S after its last renewal.
    assert first.lease is not None
    await crash(first)
    expires = first.lease.valid_until  # read after the death: a renewal may have been on its way
    died = clock.now()
    started: float | None = None
    while started is None:  # the supervisor restarts the standby until it may dial
        await clock.sleep(RETRY_S)
        standby = node(olive, olive.sessions, "node-b")
        tried = clock.now()
        try:
            await standby.start()
        except LeaseHeld:
            refused += 1
            # Refused only while the dead node's lease still ran (whatever the machine's speed).
            assert tried < expires, f"refused {tried - expires:.1f} s after the dead node's lease expired"
        else:
            started = clock.now()
    olive.engine = standby
    # It took over at its first restart after the lease expired, not before.
    assert started >= expires, f"the standby dialed {expires - started:.1f} s before the dead node's lease expired"
    report = await olive.finish(cid, within_s=3 * 3600)
    calls = olive.calls(cid)
    # No record lost (each Originate of either node has one), none twice, no contact twice at once.
    assert_fault_invariants(calls, pbx)
    # Between the death and the takeover, nobody dialed; the refused node never even logged in.
    first_login = min(r.time for r in pbx.actions if r.action.name == "Login" and r.time >= died)
    assert sum(1 for r in pbx.actions if r.action.name == "Login" and r.time < died) == logins_before
    gap = [r for r in pbx.actions if r.action.name == "Originate" and died < r.time < first_login]
    assert not gap, f"{len(gap)} Originate(s) while neither node held the lease"
    assert report.contacts.get("dialing", 0) == 0
    abandoned, live = abandon_rate(calls)
    print(f"second node: refused {refused} time(s); took over {started - died:.1f} s after the first died "
          f"(lease TTL {TTL_S:g} s, restarts every {RETRY_S:g} s); {len(calls)} records; "
          f"{abandoned} abandoned / {live} live answers")
