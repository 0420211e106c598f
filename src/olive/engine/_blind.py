"""A node that cannot reach a server other nodes reach: which units it hands over, which it skips.

A partial partition (docs/scale-out.md, "Server health"): node A's links to
pbx-a are down while node B's are up. The server's health reads ``up`` (B's
view), but A's units there place no call until A's link is back. So A hands
them over, and the nodes that reach pbx-a take them. A pure decision, from
what the node runner knows: since when this node's own link to each server
has been down (its monotonic clock), the servers it handed over lately, and
every node's view (``olive.store.server_views``). The runner does the I/O.

* **Hand over** a unit whose server this node's links have seen down for
  :data:`LINK_DOWN_GRACE_S` while another live node's fresh view of it has
  said ``up`` for as long (when the runner says since when). If no other node
  sees it up (down for everyone), keep it: nobody could dial it better, and a
  move would only cost an adoption. The second clock matters after an outage
  of the server itself: every node saw it down, and the first back (a probe's
  login, engine/_probe.py) must not take the units from a holder whose link
  is still waiting out its reconnect backoff.
* **Skip** (take no unit on) a server this node sees down, or handed over
  within :data:`BLIND_HOLD_S`, while another node sees it up. A node with no
  view yet (just started) skips nothing; once no other node sees the server
  up, the hold ends.
* **Contested**: a server some live node sees down while another sees it up,
  and this node does not skip it. Its free units are what blind nodes handed
  over: a node that reaches the server takes them even above its fair share,
  and does not shed its units there to balance (the blind node would not
  take them, and the unit would bounce).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from olive.store import SeenBy

#: How long this node's links to a server must have been down before its units there are handed over
#: (its monotonic seconds). Longer than a reconnect: the AMI client's first retries come after 0.5, 1,
#: 2 and 4 s (7.5 s in all), and a login then waits up to ``CONFIRM_S`` (10 s) for the queue members
#: before dialing; a blip must not cost an adoption.
LINK_DOWN_GRACE_S: Final = 20.0
#: After handing a server's units over, this node takes none there for this long (unless no other node
#: sees the server up). Without a unit there it has no link to tell it the partition healed; once the
#: hold ends it takes units there like any node, and hands them over again if still blind.
BLIND_HOLD_S: Final = 60.0

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Blindness:
    """What a node does about the servers it cannot reach (module docstring)."""

    hand_over: Mapping[Key, float]  # unit -> seconds this node's link to its server has been down
    skip: frozenset[str]
    contested: frozenset[str]
    holds_over: frozenset[str]  # servers handed over whose hold ended: over, or nobody else sees them up


def seen_up_by_others(views: Iterable[SeenBy], me: str) -> frozenset[str]:
    """Servers whose fresh view by another live node says ``up``."""
    return frozenset(v.server for v in views if v.counts and v.node != me and v.health == "up")


def blindness(
    me: str,
    held: Iterable[Key],
    down_since: Mapping[str, float],
    handed_at: Mapping[str, float],
    views: Iterable[SeenBy],
    now: float,
    *,
    grace_s: float = LINK_DOWN_GRACE_S,
    hold_s: float = BLIND_HOLD_S,
    up_elsewhere_since: Mapping[str, float] | None = None,
) -> Blindness:
    """``down_since``: server -> when this node's links there were first seen down (in a row);
    ``handed_at``: server -> when this node last handed its units there over; ``up_elsewhere_since``:
    server -> since when another node has been seen to see it up (None: as long as this node's down);
    all by ``now``'s clock."""
    views = list(views)
    others_up = seen_up_by_others(views, me)
    elsewhere = up_elsewhere_since or {}

    def blind_since(server: str) -> float:
        return max(down_since[server], elsewhere.get(server, down_since[server]))

    hand_over = {
        key: now - down_since[key[1]]
        for key in sorted(held)
        if key[1] in others_up and key[1] in down_since and now - blind_since(key[1]) >= grace_s
    }
    # A hold ends early when nobody else sees the server up: then this node is as good as any there.
    holding = {server for server, at in handed_at.items() if now - at < hold_s and server in others_up}
    skip = frozenset((set(down_since) | holding) & others_up)
    up = {v.server for v in views if v.counts and v.health == "up"}
    down_elsewhere = {v.server for v in views if v.counts and v.node != me and v.health == "down"}
    return Blindness(hand_over, skip, frozenset((up & down_elsewhere) - skip), frozenset(set(handed_at) - holding))


__all__ = ["BLIND_HOLD_S", "LINK_DOWN_GRACE_S", "Blindness", "blindness", "seen_up_by_others"]
