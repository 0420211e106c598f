"""Keeping Asterisk's queue members in line with who is logged in to which campaign.

The store says who should be a member: every logged-in agent of every
running or paused campaign, in that campaign's queue. The agent tracker says
who is. Each tick the difference becomes QueueAdd / QueueRemove actions, so
an Asterisk restart (which forgets dynamic members) or a lost action heals by
itself. Members olive does not know (added by hand) are left alone.

An agent who works several running campaigns is a member of each queue, but
counts towards one campaign's pacing only (the first started), so two pacers
never both count on the same free agent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from olive import ami
from olive.calls import AgentStatus
from olive.store import Campaign, EngineAgent

if TYPE_CHECKING:
    from olive.engine._engine import Engine
    from olive.engine._link import PbxLink

log = logging.getLogger("olive.engine")

Key = tuple[str, str, str]  # server, queue, interface
CONFIRM_S = 10.0  # after a login, how long dialing waits for members that cannot be added


@dataclass(slots=True)
class _Counted:
    link: PbxLink
    counted: list[str] | tuple[()]  # MembershipSync._counted's list it was read from
    queue: str
    membership: int  # the link's members' membership count then
    interfaces: tuple[str, ...]  # those of ``counted`` in ``queue``
    version: int = -1  # the members' version ``agents`` was read at
    agents: tuple[AgentStatus, ...] = ()


class MembershipSync:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._owner: dict[str, str] = {}  # interface -> campaign id its pacing counts for
        self._interfaces: dict[str, set[str]] = {}  # campaign id -> its logged-in agents' interfaces
        # campaign id -> those of them whose pacing counts for it (read each tick, set with the plan)
        self._counted: dict[str, list[str]] = {}
        self._agents_of: dict[str, _Counted] = {}  # campaign id -> who agents_of counts, and their statuses
        self._holdoff: dict[Key, float] = {}  # an action is on its way: don't repeat it until then
        self._refreshing: set[tuple[str, str]] = set()  # (server, queue) being re-read now
        self._refresh_again: set[tuple[str, str]] = set()  # asked for meanwhile: once more after it
        self._in_line: tuple[Any, ...] | None = None  # what the last plan read, when it found all in line

    def owner(self, status: AgentStatus) -> str | None:
        return self._owner.get(status.interface)

    def agents_of(self, campaign: Campaign) -> tuple[AgentStatus, ...]:
        """The statuses of the agents whose pacing counts for the campaign, in its queue. Who they
        are is kept while the queues' members and the plan stay the same; the same tuple is
        returned while no status changed (the pacer keeps what it derived from it)."""
        link = self.engine.links.get(campaign.server)
        if link is None:
            return ()
        members = link.members
        counted = self._counted.get(campaign.id, ())
        cached = self._agents_of.get(campaign.id)
        if cached is None or not (cached.link is link and cached.counted is counted and cached.queue == campaign.queue
                                  and cached.membership == members.membership):
            queue, get = campaign.queue, members.get
            interfaces = tuple(i for i in counted if (status := get(i)) is not None and queue in status.queues)
            cached = _Counted(link, counted, campaign.queue, members.membership, interfaces)
            self._agents_of[campaign.id] = cached
        elif cached.version == members.version:
            return cached.agents
        # In a queue, so known to the tracker: membership counts every agent added or removed.
        cached.agents = tuple(map(members.status, cached.interfaces))
        cached.version = members.version
        return cached.agents

    async def on_link_ready(self, link: PbxLink) -> None:
        """Right after a login's QueueStatus: send at once the QueueAdds for the members
        Asterisk lacks (a restart forgets them all). Their answers are not awaited (one
        lost would hold the reconciliation); dialing waits for the members instead."""
        self._holdoff = {k: v for k, v in self._holdoff.items() if k[0] != link.name}
        engine = self.engine
        for op in self.plan(engine.campaigns, engine.olive_interfaces, engine.clock.now(), reconciling=link):
            engine.spawn(op)

    def plan(
        self, campaigns: list[Campaign], olive_agents: set[str], now: float, *, reconciling: PbxLink | None = None
    ) -> list[Coroutine[Any, Any, None]]:
        """The QueueAdd/QueueRemove actions that bring ready links (or the one being
        reconciled) in line with who should be a member. Nothing to do when nothing it reads
        changed since a plan that found every link in line (the steady state, every period)."""
        reserved = self.engine.callbacks.reserved(now)  # owners on their callback: out of the campaign queues
        inputs = None
        if reconciling is None:
            inputs = self._inputs(campaigns, olive_agents, reserved)
            if self._in_line is not None and _same(self._in_line, inputs):
                return []
        self._in_line = None
        ordered = sorted(campaigns, key=lambda c: (c.started_at is None, c.started_at or 0, c.id))
        desired: dict[Key, EngineAgent] = {}
        callback_keys: set[Key] = set()  # members of callback queues (engine/_callbacks.py)
        counted_before = self._counted
        self._owner, self._interfaces = {}, {}
        for campaign in ordered:
            campaign_id, server, queue = campaign.id, campaign.server, campaign.queue
            ifaces = self._interfaces.setdefault(campaign_id, set())
            callback_queue = campaign.plan.snapshot().get("callback_queue")
            for agent in self.engine.campaign_agents.get(campaign_id, ()):
                if agent.state == "logged_out":
                    continue
                ifaces.add(agent.interface)
                self._owner.setdefault(agent.interface, campaign_id)
                if agent.interface not in reserved:
                    desired[(server, queue, agent.interface)] = agent
                if callback_queue:
                    key = (server, str(callback_queue), agent.interface)
                    desired[key] = agent
                    callback_keys.add(key)
        owner = self._owner
        self._counted = {}
        for campaign_id, ifaces in self._interfaces.items():
            counted = [i for i in ifaces if owner.get(i) == campaign_id]
            before = counted_before.get(campaign_id)
            # The same list object when unchanged: agents_of (and the pacer's view) keep theirs.
            self._counted[campaign_id] = before if before == counted else counted
        ops: list[Coroutine[Any, Any, None]] = []
        pending = False  # a member missing or one to remove, sent now or held off
        for name, link in self.engine.links.items():
            if link is not reconciling and (reconciling is not None or not link.ready):
                continue
            actual: set[Key] = {
                (name, queue, st.interface)
                for st in link.members.agents()
                for queue in st.queues
                if queue in link.queues
            }
            missing = [key for key in desired if key[0] == name and key not in actual]
            if reconciling is None:  # dialing waits for the campaign queues' members only
                self._confirm(link, [key for key in missing if key not in callback_keys], now)
            for key in missing:
                pending = True
                if self._free(key, now):
                    agent = desired[key]
                    penalty = self.engine.callbacks.penalty.get(agent.id, 0) if key in callback_keys else 0
                    ops.append(self._add(link, key, agent.name, agent.state == "paused", agent.pause_reason, penalty))
            for key in actual - desired.keys():
                if key[2] in olive_agents:
                    pending = True
                    if self._free(key, now):
                        ops.append(self._remove(link, key))
        if inputs is not None and not pending and all(link.membership_confirmed for link in self.engine.links.values() if link.ready):
            self._in_line = inputs
        return ops

    def _inputs(self, campaigns: list[Campaign], olive_agents: set[str], reserved: set[str]) -> tuple[Any, ...]:
        """What :meth:`plan` reads; held (not their ids), so an equal id is the same object."""
        links = tuple(
            (link, link.ready, link.membership_confirmed, link.members.membership, frozenset(link.queues))
            for link in self.engine.links.values()
        )
        # Campaigns are read anew every second: what the plan reads of them, not the objects.
        read = tuple(
            (c.id, c.server, c.queue, c.started_at, c.plan.snapshot().get("callback_queue")) for c in campaigns
        )
        return (read, self.engine.campaign_agents, olive_agents, frozenset(reserved), links)

    def _confirm(self, link: PbxLink, missing: list[Key], now: float) -> None:
        """After a login, dialing waits until Asterisk's queues hold every member olive wants
        there (an empty queue drops every answer at the connect limit), or until
        ``CONFIRM_S`` has passed: then whoever could not be added is left out and logged."""
        if link.membership_confirmed:
            return
        if not missing:
            link.membership_confirmed = True
            log.info("%s: queue membership confirmed; dialing allowed", link.name)
            return
        if link.connected_at is not None and now - link.connected_at >= CONFIRM_S:
            link.membership_confirmed = True
            log.warning(
                "%s: %d member(s) still not in their queue %.0f s after login (%s); dialing with the others",
                link.name, len(missing), CONFIRM_S, ", ".join(f"{k[2]} in {k[1]}" for k in missing),
            )

    def waiting_for(self, campaign: Campaign) -> int:
        """Members of this campaign's queue olive is still adding back after a login."""
        link = self.engine.links.get(campaign.server)
        if link is None or link.membership_confirmed:
            return 0
        return sum(
            1 for a in self.engine.campaign_agents.get(campaign.id, ())
            if a.state != "logged_out" and campaign.queue not in getattr(link.members.get(a.interface), "queues", ())
        )

    def _free(self, key: Key, now: float) -> bool:
        if self._holdoff.get(key, 0.0) > now:
            return False
        self._holdoff[key] = now + 5.0
        return True

    async def _add(self, link: PbxLink, key: Key, name: str, paused: bool, reason: str | None, penalty: int = 0) -> None:
        _, queue, interface = key
        act = ami.action(
            "QueueAdd", Queue=queue, Interface=interface, MemberName=name, StateInterface=interface,
            Penalty=penalty, Paused=paused, Reason=reason if paused and reason else None,
        )
        try:
            response = await link.client.send_action(act, check=False)
        except ami.AMIError as exc:
            log.warning("QueueAdd %s to %s failed: %s", interface, queue, exc)
            return
        if not response.ok:
            log.info("QueueAdd %s to %s: %s; re-reading the queue", interface, queue, response.message)
            await self._refresh(link, queue)

    async def _remove(self, link: PbxLink, key: Key) -> None:
        _, queue, interface = key
        try:
            response = await link.client.send_action(ami.action("QueueRemove", Queue=queue, Interface=interface), check=False)
        except ami.AMIError as exc:
            log.warning("QueueRemove %s from %s failed: %s", interface, queue, exc)
            return
        if not response.ok:
            await self._refresh(link, queue)

    async def _refresh(self, link: PbxLink, queue: str) -> None:
        """Re-read the queue; refused actions that arrive while it is being re-read ask for one
        more read after it, not one each (a thousand refused QueueAdds were a thousand
        QueueStatus lists of a thousand members)."""
        key = (link.name, queue)
        if key in self._refreshing:
            self._refresh_again.add(key)
            return
        self._refreshing.add(key)
        try:
            while True:
                self._refresh_again.discard(key)
                with contextlib.suppress(ami.AMIError):
                    await link.refresh_queue(queue)
                if key not in self._refresh_again:
                    return
        finally:
            self._refreshing.discard(key)


def _same(before: tuple[Any, ...], now: tuple[Any, ...]) -> bool:
    """The same campaigns, the same agents and olive agents (the objects, kept by a refresh that
    read them unchanged), reserved owners, and links in the same state with the same members in
    the same queues."""
    campaigns, agents, olive_agents, reserved, links = before
    return (
        campaigns == now[0] and agents is now[1] and olive_agents is now[2] and reserved == now[3]
        and len(links) == len(now[4]) and all(a[0] is b[0] and a[1:] == b[1:] for a, b in zip(links, now[4], strict=True))
    )


__all__ = ["MembershipSync"]
