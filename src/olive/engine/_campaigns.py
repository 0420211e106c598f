"""The engine's reads of campaigns and agents, and what it shows of them.

``read_campaigns`` and ``finish_idle`` run in the engine's database thread
and return data; the loop applies it after the commit (runners, notes, bus
events). ``CampaignStatus`` is the read-only view the API and reports get,
instead of the engine's own fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from olive.engine._callbacks import owner_calls
from olive.engine._runner import LIVE_ANSWERS_S, CampaignCounters, CampaignRunner
from olive.engine._stats import live_answer_counts, machines_since
from olive.pacing import WindowStats
from olive.store import (
    Campaign,
    CampaignRepository,
    EngineAgent,
    from_epoch,
    on_server,
    read_engine_campaigns,
)

if TYPE_CHECKING:
    from olive.engine._unit_scope import UnitScope


@dataclass
class Refreshed:
    """Running and paused campaigns (with plan and lists) and the agents, as read."""

    agent_ids: dict[str, str]  # interface -> agent id
    campaigns: list[Campaign]  # their ``agents`` are not loaded: see ``agents``
    agents: dict[str, list[EngineAgent]] = field(default_factory=dict)  # campaign id -> its agents (plain rows)
    new_runners: dict[str, CampaignRunner] = field(default_factory=dict)  # built for campaigns without one
    owner_calls: dict[str, tuple[str, str]] = field(default_factory=dict)  # open owned callbacks: call id -> (interface, server)


def read_campaigns(
    session: Session, now: float, have_runners: set[str], unit: UnitScope | None = None, *, new_runners: bool = True
) -> Refreshed:
    """``unit``: the one campaign and server this engine runs (a unit's engine); None: every campaign,
    each on its own server (``campaigns.server``).

    Each campaign's agents are those whose phones are on the server it dials through here
    (``agents.server``; none: the campaign's first server): only they are paced, only they are
    put in its queue there. A unit on another server than ``campaigns.server`` sees its campaign
    on the unit's server (in memory only, :func:`~olive.store.on_server`), so everything that
    follows (queue, Originates, callbacks) happens on that server.
    """
    # Read every second: the agents as plain rows, not ORM objects (store/_campaigns_repo.py).
    read = read_engine_campaigns(session, ("running", "paused"))
    campaigns = read.campaigns if unit is None else [c for c in read.campaigns if unit.runs(c)]
    agents: dict[str, list[EngineAgent]] = {}
    for campaign in campaigns:
        first = campaign.server
        here = first if unit is None else unit.server
        agents[campaign.id] = [a for a in read.agents.get(campaign.id, ()) if a.on(here, first)]
        if here != first:
            on_server(campaign, here)
    refreshed = Refreshed(read.agent_ids, campaigns, agents, owner_calls=owner_calls(session))
    for campaign in campaigns:
        if new_runners and campaign.id not in have_runners:
            refreshed.new_runners[campaign.id] = new_runner(session, campaign, now, unit)
    return refreshed


def new_runner(session: Session, campaign: Campaign, now: float, unit: UnitScope | None = None) -> CampaignRunner:
    """A runner for a campaign the engine starts running, with the live answers and machines of
    its abandon window restored from the calls stored so far."""
    runner = CampaignRunner(campaign.id, campaign.plan.snapshot(), campaign.compliance_profile)
    # A unit's abandon guard restores its own server's calls: each unit keeps its own rate
    # within the target, so the campaign's (their weighted mean) is too (docs/scale-out.md).
    mine = None if unit is None else unit.server
    runner.restore_counted(live_answer_counts(session, campaign.id, now - LIVE_ANSWERS_S, now, mine))
    runner.restore_machines(machines_since(session, campaign.id, now - LIVE_ANSWERS_S, mine))
    return runner


def finish_idle(session: Session, idle: list[str], now: float) -> dict[str, str]:
    """Mark finished the running campaigns among ``idle`` that have no contact left; returns id -> name."""
    repo = CampaignRepository(session)
    finished: dict[str, str] = {}
    for campaign_id in idle:
        if repo.has_contacts_remaining(campaign_id):
            continue
        campaign = repo.get(campaign_id)
        if campaign is None or campaign.status != "running":
            continue
        campaign.status = "finished"
        campaign.finished_at = from_epoch(now)
        finished[campaign.id] = campaign.name
    return finished


@dataclass(frozen=True)
class CampaignStatus:
    """A campaign as the engine sees it: why it is not dialing, and its live figures
    (``None`` when the engine does not run it).

    On a ``--scale-out`` node's API engine (engine/_live.py) the figures are its units',
    published by the nodes that hold them: ``units`` has each server's, ``live_at`` says
    when the oldest of the live ones was published, and the rest is their merge."""

    campaign_id: str
    note: str | None
    counters: CampaignCounters | None = None
    pacer_mode: str | None = None
    estimates: dict[str, Any] = field(default_factory=dict)
    last_decision: tuple[int, str] | None = None  # (dials, reason)
    abandon_windows: tuple[WindowStats, ...] = ()  # the pacer's abandon guard: to date, then its windows
    units: tuple[UnitStatus, ...] = ()
    live_at: float | None = None  # epoch seconds, the database's clock

    @property
    def running(self) -> bool:
        return self.counters is not None

    @classmethod
    def of(
        cls, campaign_id: str, note: str | None, runner: CampaignRunner | None, now: float | None = None
    ) -> CampaignStatus:
        """``now`` (the engine's clock): also the abandon guard's windows as of then."""
        if runner is None:
            return cls(campaign_id, note)
        decision = runner.last_decision
        c = runner.counters
        windows = () if now is None else runner.brake.ledger.stats(now)
        return cls(
            campaign_id,
            note,
            CampaignCounters(dict(c.outcomes), c.agent_s, c.handle_s, c.talk_s, c.connects, c.dials),
            runner.pacer.mode,
            dict(runner.pacer.estimates()),
            None if decision is None else (decision.dials, decision.reason),
            windows,
        )


@dataclass(frozen=True)
class UnitStatus:
    """One unit's figures as its holder published them (``olive.store.unit_live``), and how old they are."""

    server: str
    node: str  # who published them
    token: int  # under which lease
    live_at: float  # epoch seconds, the database's clock
    age_s: float
    stale: bool  # too old, or their writer no longer holds the unit: not shown as live
    held: bool  # their writer's lease is still the unit's
    owner_node: str | None  # who holds the unit now
    figures: CampaignStatus


__all__ = ["CampaignStatus", "Refreshed", "UnitStatus", "finish_idle", "new_runner", "read_campaigns"]
