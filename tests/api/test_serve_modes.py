"""One database, one mode (issue 15): a classic ``olive serve`` and ``--scale-out`` nodes never dial side by side.

The classic node's single dialing lease and the scale-out nodes' unit leases know nothing of each
other: mixed, both would pace for the same agents and could dial the same campaign. Whichever
starts second refuses, exits 3, and says what to do.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cli_helpers import OLIVE
from olive.store import (
    LeaseRepository,
    acquire_units,
    leave_node,
    live_nodes,
    register_node,
    register_servers,
    release_units,
    set_campaign_servers,
    transaction,
)
from olive.store import ServerLimits as Limits

from .conftest import closed_port, serve

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


def run_serve(db_url: str, *args: str, node: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OLIVE, "serve", "--host", "127.0.0.1", "--port", "0", "--database-url", db_url, "--node", node, *args,
         "--asterisk", f"ami://olive@127.0.0.1:{closed_port()}/s1?secret_env=MODES_SECRET"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "MODES_SECRET": "x"},
    )


def a_unit(sessions: sessionmaker[Session]) -> None:
    from e2e.harness import make_campaign

    campaign_id = make_campaign(sessions, name="modes", contacts=["+12025550100"], agents=["801"])
    with transaction(sessions) as s:
        register_servers(s, {"s1": Limits()})
        set_campaign_servers(s, campaign_id, ["s1"])


def test_a_classic_serve_refuses_while_scale_out_nodes_are_live(db_url: str, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        assert register_node(s, "n1", "instance-1", 60.0)
    done = run_serve(db_url, node="classic")
    assert done.returncode == 3, done.stderr
    assert "refusing to start: scale-out node(s) n1 are live" in done.stderr
    assert "start this node with --scale-out too, or stop the scale-out nodes first" in done.stderr
    with transaction(session_factory) as s:  # it let go of the dialing lease it took to check
        assert LeaseRepository(s).holder() is None


def test_a_classic_serve_refuses_while_a_unit_lease_is_held_and_starts_once_it_is_released(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    a_unit(session_factory)
    with transaction(session_factory) as s:
        assert register_node(s, "n1", "instance-1", 60.0)
        leases = acquire_units(s, "n1", 60.0, limit=5)
        assert len(leases) == 1
        leave_node(s, "n1", "instance-1")  # the node is gone, its unit's lease not yet
        assert not live_nodes(s)
    done = run_serve(db_url, node="classic")
    assert done.returncode == 3, done.stderr
    assert "no scale-out node is live and 1 unit lease(s) are held" in done.stderr
    with transaction(session_factory) as s:
        release_units(s, leases)
    # Units left without an owner are no obstacle: nobody dials them.
    served = serve(db_url, "--node", "classic")
    try:
        with transaction(session_factory) as s:
            holder = LeaseRepository(s).holder()
            assert holder is not None and holder.node == "classic"
    finally:
        served.stop()


def test_a_scale_out_node_refuses_while_a_classic_node_holds_the_dialing_lease(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    with transaction(session_factory) as s:
        LeaseRepository(s).acquire("classic", "token-1", time.time(), 60.0)
    done = run_serve(db_url, "--scale-out", node="n1")
    assert done.returncode == 3, done.stderr
    assert "refusing to start: node classic dials this database as a classic node" in done.stderr
    assert "stop it first" in done.stderr
    with transaction(session_factory) as s:  # it registered to check, and left
        assert not live_nodes(s)
