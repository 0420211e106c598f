"""Whether this node reaches each server of its configuration, units or not (issue 15).

A scale-out node learns what it sees of a server from its units' links
there. Without a unit on a server it saw nothing, which left three holes
(docs/scale-out.md, "A node that cannot reach a server others reach"): a
partition seen only by the one node holding the server's units had nobody
to say ``up``, so its units stayed with the node that could not dial them;
a node that handed a server's units over could not see the cut heal; and a
node cut off from a server took its free units like any other.

So each node keeps one more AMI login to every configured server, with
``Events: off`` (Asterisk sends such a session no event, only the answers
to its own Pings). Its health is this node's view of a server it holds no
unit on: ``up`` while logged in, ``down`` once it has been out. It is not
the units' ``up`` (logged in, reconciled, queue members confirmed): it says
the server can be reached from here, which is what the node runner weighs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from olive import ami
from olive.ami import ServerConfig

#: A link that has not logged in yet says nothing of its server for this long after it started (no
#: news, not ``down``): a probe's, and a unit's new engine's (engine/_unit.py); after that, a server
#: it still cannot reach is ``down``.
FIRST_LOGIN_S = 5.0
#: Seconds between the probe's Pings: a silent network drop shows within this plus the action timeout.
PROBE_KEEPALIVE_S = 5.0

UP_NOTE = "this node reaches it (AMI login; no unit here)"
DOWN_NOTE = "this node cannot reach it (AMI login)"

MakeProbe = Callable[[str, ServerConfig], ami.AMIClient]


def probe_client(name: str, config: ServerConfig) -> ami.AMIClient:
    return ami.AMIClient(config.host, config.port, config.username, config.secret, events="off",
                         name=f"{name} (probe)", keepalive=PROBE_KEEPALIVE_S)


class ServerProbes:
    """One events-off AMI login per server; :meth:`health` says which this node reaches."""

    def __init__(
        self,
        servers: Mapping[str, ServerConfig],
        *,
        make_client: MakeProbe = probe_client,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.servers = dict(servers)
        self.make_client = make_client
        self.monotonic = monotonic
        self.clients: dict[str, ami.AMIClient] = {}
        self.started_at: float | None = None

    def __repr__(self) -> str:
        return f"<ServerProbes {sorted(self.servers)}>"

    async def start(self) -> None:
        """Log in to each server in the background (each client reconnects on its own)."""
        self.started_at = self.monotonic()
        for name, config in sorted(self.servers.items()):
            client = self.clients[name] = self.make_client(name, config)
            await client.start()

    async def close(self) -> None:
        clients, self.clients = self.clients, {}
        for client in clients.values():
            await client.close()

    def health(self) -> dict[str, tuple[str, str | None]]:
        """server -> (``up`` or ``down``, a note), as :meth:`UnitEngines.server_health` says it; a
        server whose probe has not logged in yet, within :data:`FIRST_LOGIN_S` of the start, is left out."""
        seen: dict[str, tuple[str, str | None]] = {}
        young = self.started_at is not None and self.monotonic() - self.started_at < FIRST_LOGIN_S
        for name, client in sorted(self.clients.items()):
            if client.connected:
                seen[name] = ("up", UP_NOTE)
            elif not (young and client.connections == 0):
                seen[name] = ("down", DOWN_NOTE)
        return seen


__all__ = ["DOWN_NOTE", "FIRST_LOGIN_S", "UP_NOTE", "ServerProbes", "probe_client"]
