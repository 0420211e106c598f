"""A scale-out node's probes (engine/_probe.py), against the simulator over TCP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from olive.ami import AMIClient, ServerConfig
from olive.engine._probe import DOWN_NOTE, FIRST_LOGIN_S, UP_NOTE, ServerProbes
from olive.sim import SimulatedPBX


async def until(condition: Callable[[], bool], what: str, within_s: float = 10.0) -> None:
    for _ in range(int(within_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {within_s} s: {what}")


def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_probe_logs_in_without_events_and_says_which_servers_this_node_reaches() -> None:
    pbx = SimulatedPBX("lab")
    port = await pbx.start()
    t = [0.0]
    probes = ServerProbes(
        {"pbx-a": ServerConfig("127.0.0.1", port, "olive", "olive"),
         "pbx-gone": ServerConfig("127.0.0.1", closed_port(), "olive", "olive")},
        monotonic=lambda: t[0],
    )
    listener = AMIClient("127.0.0.1", port, "olive", "olive", events="on", name="listener")
    try:
        await probes.start()
        await until(lambda: probes.clients["pbx-a"].connected, "the probe logged in to pbx-a")
        assert probes.health() == {"pbx-a": ("up", UP_NOTE)}, "pbx-gone, not reached yet at the start: no news"
        t[0] = FIRST_LOGIN_S
        assert probes.health() == {"pbx-a": ("up", UP_NOTE), "pbx-gone": ("down", DOWN_NOTE)}

        # Events: off. A session that asked for events gets this one; the probe gets none.
        probed: list[object] = []
        heard: list[object] = []
        probes.clients["pbx-a"].on_event(probed.append)
        listener.on_event(heard.append)
        await listener.connect()
        pbx.send_event("UserEvent", "user", UserEvent="olive-probe-test")
        await until(lambda: any(getattr(e, "name", "") == "UserEvent" for e in heard), "the listener heard the event")
        await asyncio.sleep(0.1)
        assert probed == [], f"the probe received events: {probed}"

        await pbx.stop()
        await until(lambda: not probes.clients["pbx-a"].connected, "the probe saw pbx-a go")
        assert probes.health()["pbx-a"] == ("down", DOWN_NOTE)
    finally:
        await listener.close()
        await probes.close()
        await pbx.stop()
