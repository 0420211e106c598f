"""Two unit engines on one server write the same agents' states (each has its own AMI link and sees
every agent's events): their UPDATEs must lock the rows in one order, or PostgreSQL kills one of
them as a deadlock (seen in benchmarks/scale_out.py: six units on one server, 20 deadlocks a minute,
each a failed tick). On PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from olive.store import Agent, AgentState, transaction, update_agents

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


# The plans seen: a nested loop over unnest() locks in the array's order; a hash join over a scan of
# agents, in the table's order (which updates change). The second is forced here.
PLANS = {"as planned": (), "scan in table order": ("enable_nestloop", "enable_indexscan", "enable_bitmapscan")}


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_an_agents_update_locks_its_rows_in_id_order_whatever_order_the_changes_came_in_and_the_plan(
    session_factory: sessionmaker[Session], plan: str
) -> None:
    with transaction(session_factory) as s:  # stored in the other order: a scan in the table's order meets agt_2 first
        for i in (2, 1):
            s.add(Agent(id=f"agt_{i}", name=f"a{i}", interface=f"PJSIP/a{i}", state="ready"))
            s.flush()
    first, second = "agt_1", "agt_2"
    # The other unit's transaction holds the first agent's row (its own update of it, not committed yet).
    other = session_factory()
    other.execute(select(Agent.id).where(Agent.id == first).with_for_update())
    failed: list[BaseException] = []

    def write_in_arrival_order() -> None:  # this tick's changes: the second agent's came first
        try:
            with transaction(session_factory) as s:
                for setting in PLANS[plan]:
                    s.execute(text(f"SET LOCAL {setting} = off"))
                update_agents(s, [AgentState(second, "a2", "PJSIP/a2", "on_call", None),
                                  AgentState(first, "a1", "PJSIP/a1", "on_call", None)])
        except BaseException as exc:
            failed.append(exc)

    writer = threading.Thread(target=write_in_arrival_order)
    writer.start()
    try:
        for _ in range(250):  # until the writer waits for the other transaction's lock
            with session_factory() as look:  # its own transaction: pg_stat_activity is read once per transaction
                waiting = look.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )).scalar()
            if waiting:
                break
            time.sleep(0.02)
        else:
            raise AssertionError(f"the writer never waited for the first agent's row: {failed}")
        # The writer waits for the first row: it must not already hold the second, which the other needs next.
        try:
            other.execute(text("SET LOCAL lock_timeout = '100ms'"))
            other.execute(select(Agent.id).where(Agent.id == second).with_for_update())
        except OperationalError as exc:
            raise AssertionError("the writer locked the second agent before the first: two units writing "
                                 "the same agents in opposite orders deadlock") from exc
        finally:
            other.rollback()
    finally:
        other.close()
        writer.join(10)
    assert not failed, failed
    with transaction(session_factory) as s:
        assert {row.id: row.state for row in s.execute(select(Agent.id, Agent.state))} == {first: "on_call", second: "on_call"}
