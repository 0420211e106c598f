"""A long-running simulator keeps a bounded history of the actions it received."""

from __future__ import annotations

from olive import ami
from olive.clock import ManualClock
from olive.sim import SimulatedPBX


async def _send_pings(pbx: SimulatedPBX, n: int) -> None:
    await pbx.start_in_memory()
    client = ami.AMIClient("memory", 0, "olive", "olive", connector=pbx.connect_in_memory, keepalive=0)
    try:
        await client.connect()
        for _ in range(n):
            assert (await client.send_action(ami.action("Ping"))).ok
    finally:
        await client.close()
        await pbx.stop()


async def test_keep_actions_holds_only_the_newest_and_listeners_still_see_every_one() -> None:
    pbx = SimulatedPBX("default", clock=ManualClock(), keep_actions=3)
    seen: list[str] = []
    pbx.action_listeners.append(lambda record: seen.append(record.action.name))
    await _send_pings(pbx, 5)
    assert seen == ["Login"] + ["Ping"] * 5 + ["Logoff"]
    assert [r.action.name for r in pbx.actions] == ["Ping", "Ping", "Logoff"]


async def test_by_default_every_action_is_kept() -> None:
    pbx = SimulatedPBX("default", clock=ManualClock())
    await _send_pings(pbx, 5)
    assert [r.action.name for r in pbx.actions] == ["Login"] + ["Ping"] * 5 + ["Logoff"]
