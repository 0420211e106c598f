"""Owned callbacks reach their owner.

A callback an agent booked "for me" is dialed when it is due and its owner
is ready (the dial guard holds it back otherwise), and its answered call is
routed to that agent alone:

- every logged-in agent is also a member of the plan's ``callback_queue``
  (one shared queue, ``olive-callbacks``) with a penalty of its own;
- the callback's Originate sets ``OLIVE_QUEUE`` to that queue and
  ``QUEUE_MIN_PENALTY`` = ``QUEUE_MAX_PENALTY`` = the owner's penalty, so
  app_queue rings nobody else (its calc_metric() skips every other member);
- from the dial until the owner is done with it (the call over and the
  owner's wrap-up ended) the owner is *reserved*: out of the campaigns'
  queues, so no other customer takes them meanwhile, and the pacer does not
  count them. The call row says whom it was placed for (``for_agent_id``),
  so a restarted olive keeps the reservation.

If the owner is not ready within the plan's ``callback_owner_timeout_s``
past the callback's time, any agent may take it (through the campaign's
queue), as may happen when the plan has no ``callback_queue`` or the owner
is not in that queue (the queue missing in Asterisk).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from olive.calls import AgentActivity, CallState
from olive.compliance import CALLBACK_OWNER_AWAY, RECHECK_S, Verdict, due_callback
from olive.engine._members import CONFIRM_S
from olive.store import (
    Agent,
    Call,
    Campaign,
    DialContact,
    as_utc,
    first_server,
    has_open_call_for,
    open_owner_calls,
    to_epoch,
)

if TYPE_CHECKING:
    from olive.engine._engine import Engine

log = logging.getLogger("olive.engine")

CALLBACK_OWNER_BUSY = "callback_owner_busy"
PENALTY_SPAN = 999_999  # penalties 1..999,999; app_queue reads them as ints
#: After a reservation's call is gone and its owner is not with it, how long to keep it
#: anyway (its Originate may not be tracked yet, or its row was never committed).
GRACE_S = 5.0
#: A callback held back because its owner is on another callback of theirs is offered again this much
#: later; one held back because its owner is away, as the dial guard does (RECHECK_S).
BUSY_RECHECK_S = 10.0
AWAY_RECHECK_S = RECHECK_S[CALLBACK_OWNER_AWAY]
_WITH_CALL = (AgentActivity.RINGING, AgentActivity.TALKING, AgentActivity.WRAPUP)


def penalties(agent_ids: Iterable[str]) -> dict[str, int]:
    """A queue penalty for each agent, unique among them and stable: from a hash of the
    id, the next free one on a collision, in id order (olive's ids sort by creation, so
    an agent added later never moves an earlier one)."""
    taken: set[int] = set()
    out: dict[str, int] = {}
    for agent_id in sorted(set(agent_ids)):
        penalty = 1 + int.from_bytes(hashlib.sha256(agent_id.encode()).digest()[:8], "big") % PENALTY_SPAN
        while penalty in taken:
            penalty = penalty % PENALTY_SPAN + 1
        taken.add(penalty)
        out[agent_id] = penalty
    return out


@dataclass(frozen=True, slots=True)
class OwnerRoute:
    """Where an owned callback's answered call goes: ``queue``, to ``interface`` alone."""

    agent_id: str
    interface: str
    queue: str
    penalty: int

    def variables(self) -> dict[str, str]:
        penalty = str(self.penalty)
        return {"OLIVE_QUEUE": self.queue, "QUEUE_MIN_PENALTY": penalty, "QUEUE_MAX_PENALTY": penalty, "OLIVE_FOR_AGENT": self.agent_id}


class Elsewhere:
    """The route of a callback whose owner is on another server: not this engine's to dial."""

    def __repr__(self) -> str:
        return "ELSEWHERE"


ELSEWHERE = Elsewhere()


@dataclass
class _Reservation:
    interface: str
    server: str
    since: float


def owner_timed_out(plan: Mapping[str, Any], due_at: float, now: float) -> bool:
    """The plan's wait for the owner is over: any agent may take the callback."""
    timeout = plan.get("callback_owner_timeout_s")
    return timeout is not None and now >= due_at + float(timeout)


class OwnerRoutes:
    """The engine's owned-callback routing: decides in the database thread (``route``,
    ``reserve``), and tells the membership sync on the loop whom to keep out of the
    campaign queues (``reserved``) and who belongs in which callback queue."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()  # route/reserve run in the database thread, reserved() on the loop
        self._reserved: dict[str, _Reservation] = {}  # call id -> its owner
        self.penalty: dict[str, int] = {}  # agent id -> penalty in every callback queue
        self.queues: dict[str, set[str]] = {}  # server -> callback queues of its campaigns

    # -- the loop's side ------------------------------------------------------------
    def refreshed(self, campaigns: list[Campaign], agent_ids: Mapping[str, str], owner_calls: Mapping[str, tuple[str, str]]) -> None:
        """After a refresh: the penalties, each server's callback queues (olive manages their
        members), and the reservations the store holds (open calls placed for an agent)."""
        self.penalty = penalties(agent_ids.values())
        queues: dict[str, set[str]] = {}
        for campaign in campaigns:
            queue = campaign.plan.snapshot().get("callback_queue")
            if queue:
                queues.setdefault(campaign.server, set()).add(str(queue))
        self.queues = queues
        for server, names in queues.items():
            link = self.engine.links.get(server)
            if link is not None:
                link.queues.update(names)
        now = self.engine.clock.now()
        with self._lock:
            for call_id, (interface, server) in owner_calls.items():
                self._reserved.setdefault(call_id, _Reservation(interface, server, now))

    def reserved(self, now: float) -> set[str]:
        """The interfaces reserved for an owned callback now; forgets the reservations that are over."""
        out: set[str] = set()
        with self._lock:
            for call_id, res in list(self._reserved.items()):
                if self._holds(call_id, res, now):
                    out.add(res.interface)
                else:
                    del self._reserved[call_id]
        return out

    def _holds(self, call_id: str, res: _Reservation, now: float) -> bool:
        link = self.engine.links.get(res.server)
        if link is None:
            return False
        record = link.tracker.get(call_id)
        if record is not None and record.state is not CallState.ENDED:
            return True
        status = link.members.get(res.interface)
        if status is not None and status.call_id == call_id and status.activity in _WITH_CALL:
            return True  # talking to the customer, or in the wrap-up after
        return now - res.since < GRACE_S

    # -- the database thread's side -------------------------------------------------
    def route(
        self,
        session: Session,
        campaign: Campaign,
        contact: DialContact,
        plan: Mapping[str, Any],
        now: float,
    ) -> OwnerRoute | Verdict | Elsewhere | None:
        """Where the contact's call goes: to its due callback's owner (an ``OwnerRoute``),
        not now (a refusing ``Verdict``: the owner is away, or on another callback of
        theirs), not from here (``ELSEWHERE``: the owner's phone is on another server),
        or the campaign's queue as usual (None)."""
        queue = plan.get("callback_queue")
        if not queue:
            return None  # no callback queue: no routing, and no callback to look up
        callback = due_callback(session, campaign.id, contact.id, now)
        if callback is None or callback.agent_id is None:
            return None
        if owner_timed_out(plan, to_epoch(as_utc(callback.due_at)), now):
            return None
        owner = session.get(Agent, callback.agent_id)
        if owner is None:
            return None
        if self._elsewhere(session, campaign, owner):
            return ELSEWHERE
        if owner.state != "ready":
            return Verdict(
                False, f"{CALLBACK_OWNER_AWAY}: its callback belongs to agent {owner.name}, who is not ready",
                retry_at=now + AWAY_RECHECK_S,
            )
        busy = Verdict(
            False, f"{CALLBACK_OWNER_BUSY}: its callback belongs to agent {owner.name}, who is on another call",
            retry_at=now + BUSY_RECHECK_S,
        )
        if self._busy(session, owner):
            return busy
        link = self.engine.links.get(campaign.server)
        status = link.members.get(owner.interface) if link is not None else None
        if status is None or str(queue) not in status.queues:
            if link is not None and link.connected_at is not None and now - link.connected_at < CONFIRM_S:
                return busy  # just connected: olive is still adding its members
            log.warning(
                "callback %s: its owner %s is not in queue %s (is it in queues.conf?); any agent may take it",
                callback.id, owner.name, queue,
            )
            return None
        if status.activity is not AgentActivity.IDLE:
            return busy  # the store says ready, Asterisk says ringing or talking: in a moment
        penalty = self.penalty.get(owner.id) or penalties([*self.penalty, owner.id])[owner.id]
        return OwnerRoute(owner.id, owner.interface, str(queue), penalty)

    def _elsewhere(self, session: Session, campaign: Campaign, owner: Agent) -> bool:
        """The owner's phone is on another server than the one this engine dials the campaign on
        (``agents.server``; none: the campaign's first server): that server's unit dials it, so the
        2-second hand-off stays local; here the contact is left alone, not put off."""
        if any(a.id == owner.id for a in self.engine.campaign_agents.get(campaign.id, ())):
            return False
        return (owner.server or first_server(session, campaign.id)) != campaign.server

    def _busy(self, session: Session, owner: Agent) -> bool:
        with self._lock:
            if any(res.interface == owner.interface for res in self._reserved.values()):
                return True
        return has_open_call_for(session, owner.id)

    def reserve(self, session: Session, call_id: str, route: OwnerRoute, server: str, now: float) -> None:
        """The call row (just written) says whom it is for; the owner is reserved from now."""
        call = session.get(Call, call_id)
        if call is not None:
            call.for_agent_id = route.agent_id
        with self._lock:
            self._reserved[call_id] = _Reservation(route.interface, server, now)


def owner_calls(session: Session) -> dict[str, tuple[str, str]]:
    """Open calls placed for an agent: call id -> (the agent's interface, server)."""
    return open_owner_calls(session)


__all__ = ["CALLBACK_OWNER_BUSY", "ELSEWHERE", "Elsewhere", "OwnerRoute", "OwnerRoutes", "owner_calls", "owner_timed_out", "penalties"]
