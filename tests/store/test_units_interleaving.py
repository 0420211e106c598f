"""Three nodes taking, renewing, claiming, crashing and releasing in any order (issue 15).

A property-based test on PostgreSQL, deterministic by default (see
tests/conftest.py; ``pytest --randomized`` searches longer). Each step is one
node's transaction at a model time; after each, the rules of
docs/scale-out.md must hold:

* a node *believes* it may dial a unit while its own clock is a third of the
  lease short of the expiry it got at its last successful take or renewal
  (measured from before the statement, as a node would). Whenever it
  believes so, the database agrees: the unit is its, with its token, not
  expired. So two nodes never believe it at once;
* a unit's fencing token only grows, and grows when the unit changes hands;
* a claim succeeds exactly when the database still gives the lease to the
  claimer, and no contact is ever claimed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from olive.store import (
    Base,
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    Plan,
    ServerLimits,
    StaleLease,
    UnitLease,
    acquire_units,
    claim_contacts,
    make_sessionmaker,
    register_servers,
    release_units,
    renew_units,
    set_campaign_servers,
    transaction,
    units,
)
from support.fuzzing import examples

pytestmark = pytest.mark.postgres

T0 = 1_790_000_000.0
TTL = 6.0
STOP_EARLY = TTL / 3  # a node stops dialing this long before its lease expires
NODES = ("n1", "n2", "n3")
SERVERS = ("pbx-a", "pbx-b")


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


@dataclass
class NodeModel:
    """What one node believes: its leases and, for each, until when it may dial (its own clock)."""

    leases: dict[tuple[str, str], UnitLease] = field(default_factory=dict)
    may_dial_until: dict[tuple[str, str], float] = field(default_factory=dict)

    def keep(self, leases: list[UnitLease], sent_at: float) -> None:
        for lease in leases:
            self.leases[lease.key] = lease
            self.may_dial_until[lease.key] = sent_at + TTL - STOP_EARLY

    def forget(self, keys: set[tuple[str, str]] | None = None) -> None:
        for key in list(self.leases) if keys is None else keys:
            self.leases.pop(key, None)
            self.may_dial_until.pop(key, None)

    def dialing(self, now: float) -> list[UnitLease]:
        return [lease for key, lease in self.leases.items() if now < self.may_dial_until[key]]


node_ = st.sampled_from(NODES)
step = st.one_of(
    st.tuples(st.just("acquire"), node_, st.integers(1, 4)),
    st.tuples(st.just("renew"), node_, st.just(0)),
    st.tuples(st.just("claim"), node_, st.integers(1, 3)),
    st.tuples(st.just("crash"), node_, st.just(0)),
    st.tuples(st.just("release"), node_, st.just(0)),
    st.tuples(st.just("wait"), st.just(""), st.sampled_from([1, 2, 3, 5, 7])),
)


def _setup(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(table.delete())
        register_servers(s, {name: ServerLimits() for name in SERVERS})
        plan = Plan(name="p", channel_template="PJSIP/{number}@trunk")
        s.add(plan)
        s.flush()
        for i in range(2):
            dial_list = DialList(name=f"list {i}")
            s.add(dial_list)
            s.flush()
            for k in range(12):
                s.add(Contact(dial_list_id=dial_list.id, numbers=[ContactNumber(position=0, number=f"+1555{i:03d}{k:04d}")]))
            campaign = Campaign(name=f"c{i}", plan_id=plan.id, queue="sales", status="running", dial_lists=[dial_list])
            s.add(campaign)
            s.flush()
            set_campaign_servers(s, campaign.id, list(SERVERS))


@settings(max_examples=examples(40), deadline=None)
@given(steps=st.lists(step, min_size=5, max_size=30))
# The paths that matter most, always tried: a node frozen past its lease claims after a takeover;
# a crashed node's units taken; a node taking its own expired units back with a new token.
@example([("acquire", "n1", 4), ("wait", "", 7), ("acquire", "n2", 4), ("claim", "n1", 2), ("claim", "n2", 2), ("renew", "n1", 0)])
@example([("acquire", "n1", 2), ("claim", "n1", 3), ("crash", "n1", 0), ("wait", "", 5), ("acquire", "n3", 4),
          ("wait", "", 2), ("acquire", "n3", 4), ("claim", "n3", 3)])
@example([("acquire", "n1", 1), ("wait", "", 7), ("acquire", "n1", 1), ("claim", "n1", 1), ("renew", "n1", 0)])
def test_any_interleaving_keeps_one_dialer_per_unit_and_one_claim_per_contact(
    db_engine: Engine, steps: list[tuple[str, str, int]]
) -> None:
    sessions = make_sessionmaker(db_engine)
    _setup(sessions)
    nodes = {name: NodeModel() for name in NODES}
    now = T0
    tokens: dict[tuple[str, str], tuple[str | None, int]] = {}
    claimed: dict[str, str] = {}
    for what, name, n in steps:
        node = nodes.get(name)
        if what == "wait":
            now += n
        elif what == "acquire" and node is not None:
            with transaction(sessions) as s:
                node.keep(acquire_units(s, name, TTL, limit=n, at=now), now)
        elif what == "renew" and node is not None:
            with transaction(sessions) as s:
                renewed = renew_units(s, list(node.leases.values()), TTL, at=now)
            node.forget(set(node.leases) - {lease.key for lease in renewed})
            node.keep(renewed, now)
        elif what == "release" and node is not None:
            with transaction(sessions) as s:
                release_units(s, list(node.leases.values()))
            node.forget()
        elif what == "crash" and node is not None:
            node.forget()  # gone without a word: its leases run out
        elif what == "claim" and node is not None:
            for lease in list(node.leases.values()):
                with transaction(sessions) as s:
                    row = {(u.campaign_id, u.server): u for u in units(s)}[lease.key]
                    valid = row.owner_node == name and row.token == lease.token and (row.expires_at or 0) > now
                try:
                    with transaction(sessions) as s:
                        got = claim_contacts(s, lease, n, at=now)
                except StaleLease:
                    assert not valid, f"{name}'s valid lease {lease} was refused"
                    continue
                assert valid, f"{name}'s stale lease {lease} claimed {got}"
                for claim in got:
                    assert claim.contact_id not in claimed, f"contact {claim.contact_id} claimed twice"
                    claimed[claim.contact_id] = claim.call_id
        # After every step: what the database says, against what each node believes.
        with transaction(sessions) as s:
            rows = {(u.campaign_id, u.server): u for u in units(s)}
            active = {c: call for c, call in s.execute(select(Contact.id, Contact.active_call_id).where(Contact.active_call_id.is_not(None)))}
        for key, row in rows.items():
            before = tokens.get(key, (None, 0))
            assert row.token >= before[1], f"token of {key} went back"
            if row.owner_node is not None and row.owner_node != before[0]:
                assert row.token > before[1], f"{key} changed hands without a new token"
            tokens[key] = (row.owner_node, row.token)
        for key in rows:
            dialers = [name for name, model in nodes.items() if key in {lease.key for lease in model.dialing(now)}]
            assert len(dialers) <= 1, f"{key} dialed by {dialers} at once"
            for dialer in dialers:
                row = rows[key]
                assert (row.owner_node, row.token) == (dialer, nodes[dialer].leases[key].token)
                assert row.expires_at is not None and row.expires_at > now + STOP_EARLY - 1e-6
        assert active == claimed, "the database's claims are the ones that succeeded, each once"
