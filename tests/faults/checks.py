"""What every fault must leave true (issue 10, "Done when")."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from e2e.checks import assert_every_attempt_recorded_once, assert_no_contact_dialed_twice_at_once
from olive.engine import Engine, EngineState
from olive.store import Call


def assert_nobody_who_reached_an_agent_is_dialed_again(calls: list[Call]) -> None:
    by_contact: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_contact[call.contact_id or ""].append(call)
    for contact, attempts in by_contact.items():
        attempts.sort(key=lambda c: c.originated_at)
        reached = [c for c in attempts if c.outcome == "CONNECTED" or c.agent_connected_at is not None]
        if reached:
            later = [c.id for c in attempts if c.originated_at > reached[0].originated_at]
            assert not later, f"contact {contact} reached an agent ({reached[0].id}) and was dialed again: {later}"


def abandon_rate(calls: list[Call]) -> tuple[int, int]:
    """(abandoned, live answers) over these calls."""
    live = [c for c in calls if c.outcome in ("CONNECTED", "ABANDONED")]
    return sum(1 for c in live if c.outcome == "ABANDONED"), len(live)


def assert_fault_invariants(calls: list[Call], pbx: Any, *, max_abandon: float = 0.03) -> None:
    assert_every_attempt_recorded_once(calls, pbx)
    assert_no_contact_dialed_twice_at_once(calls)
    assert_nobody_who_reached_an_agent_is_dialed_again(calls)
    abandoned, live = abandon_rate(calls)
    assert live > 0
    assert abandoned <= max_abandon * live, f"{abandoned} abandoned of {live} live answers"


def first_action_after(pbx: Any, name: str, at: float) -> float | None:
    times = [r.time for r in pbx.actions if r.action.name.lower() == name.lower() and r.time >= at]
    return min(times) if times else None


async def crash(engine: Engine) -> None:
    """olive dies without a goodbye: no lease released, no record written; Asterisk keeps the calls up."""
    assert engine._loop_task is not None
    engine._loop_task.cancel()
    engine.state = EngineState.STOPPED
    # A dead process writes nothing more: let a database job already handed to the engine's
    # thread (a lease renewal, say) finish now, not after the "death".
    await asyncio.get_running_loop().run_in_executor(engine._db, lambda: None)
    for link in engine.links.values():
        if link.client._writer is not None:
            link.client._writer.transport.abort()
        await link.client.close()
    await asyncio.sleep(0.05)
