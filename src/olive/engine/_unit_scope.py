"""What an engine needs to run one unit (one campaign on one server) of several nodes.

``olive serve --node`` runs one :class:`~olive.engine.Engine` per unit its
node holds (engine/_unit.py). The engine takes a :class:`UnitScope` and asks
it four things, each in a clearly separate place of the engine:

* which campaign it runs (``runs``: the refresh reads only that one, the
  start-up adopts only that campaign's open calls on the server);
* whether it may dial now (``may_dial``: the node's lease is good by the
  node's own monotonic clock, docs/scale-out.md "Whose clock");
* in the dial transaction, before anything is written: ``reserve`` fences the
  transaction with the lease's token (``olive.store.reserve_dials``, which
  raises :class:`~olive.store.StaleLease` when the lease is no longer this
  node's: the transaction writes nothing and so no Originate is sent) and
  caps the pacer's calls by the server's ``max_channels`` and ``max_cps``;
* after the claims: ``mark`` records the lease on the claimed contacts and
  tags each Originate with the unit's node and token (``OLIVE_NODE``,
  ``OLIVE_TOKEN``, channel variables: what the simulators' logs and an
  operator reading ``core show channel`` see).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from olive.store import Campaign, UnitLease, reserve_dials, stamp_claims

if TYPE_CHECKING:
    from olive.engine._dialing import Dial
    from olive.pacing import DialDecision

#: A dial transaction needs this much of the lease left (its Originates are spawned right
#: after the commit, so they reach Asterisk before the lease can expire).
FENCE_MARGIN_S = 1.0


@dataclass
class UnitScope:
    lease: UnitLease
    may_dial: Callable[[], bool]
    margin_s: float = FENCE_MARGIN_S

    @property
    def campaign_id(self) -> str:
        return self.lease.campaign_id

    @property
    def server(self) -> str:
        return self.lease.server

    def describe(self) -> str:
        return f"unit {self.campaign_id}@{self.server} (token {self.lease.token})"

    def runs(self, campaign: Campaign) -> bool:
        """The unit's campaign, whichever of its servers ``campaigns.server`` names (the refresh
        then shows it on the unit's server, engine/_campaigns.py)."""
        return campaign.id == self.campaign_id

    def idle_note(self, campaign: Campaign, agents: int) -> str | None:
        """Why the unit places no call whatever its pacer says: none of the campaign's agents is
        on its server (an agentless plan needs none)."""
        if agents or campaign.plan.snapshot().get("dial_mode") == "agentless":
            return None
        return (
            f"not dialing on {self.server}: none of the campaign's agents is on this server "
            "(an agent's server is where their phone registers)"
        )

    def reserve(
        self, session: Session, decisions: list[tuple[Campaign, DialDecision]]
    ) -> list[tuple[Campaign, DialDecision]]:
        """Fence the transaction (StaleLease if the unit is no longer ours) and cap the calls."""
        ours = [(c, d) for c, d in decisions if self.runs(c)]
        allowed = reserve_dials(
            session, self.lease, sum(d.dials for _, d in ours), margin_s=self.margin_s
        )
        out: list[tuple[Campaign, DialDecision]] = []
        for campaign, decision in ours:
            take = min(decision.dials, allowed)
            allowed -= take
            if take > 0:
                reason = (
                    decision.reason
                    if take == decision.dials
                    else f"{decision.reason}; server {self.server}'s limits allow {take}"
                )
                out.append((campaign, dataclasses.replace(decision, dials=take, reason=reason)))
        return out

    def mark(self, session: Session, dials: list[Dial]) -> list[Dial]:
        stamp_claims(session, self.lease, [intent.call_id for _, intent, _ in dials])
        tag = {"OLIVE_NODE": self.lease.node, "OLIVE_TOKEN": str(self.lease.token)}
        return [
            (server, dataclasses.replace(intent, variables={**intent.variables, **tag}), plan)
            for server, intent, plan in dials
        ]


__all__ = ["FENCE_MARGIN_S", "UnitScope"]
