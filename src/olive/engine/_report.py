"""A campaign's figures, from the store and (when it runs) from its runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from olive.engine._stats import abandon_rate
from olive.store import (
    AgentRepository,
    CampaignRepository,
    contact_status_counts,
    open_call_count,
    outcome_counts,
)

if TYPE_CHECKING:
    from olive.engine._campaigns import CampaignStatus, UnitStatus

DAY_S = 86400.0


class StatusView(Protocol):
    """The engine's read-only view: all a report needs of it."""

    def status(self, campaign_id: str) -> CampaignStatus: ...


@dataclass
class CampaignReport:
    campaign_id: str
    name: str
    status: str
    outcomes: dict[str, int]
    contacts: dict[str, int]
    abandon: dict[str, dict[str, Any]]
    agents: list[dict[str, Any]]
    active_calls: int = 0
    occupancy: float | None = None
    connects_per_agent_hour: float | None = None
    talk_min_per_agent_hour: float | None = None
    agent_hours: float = 0.0
    dial_level: float | None = None
    pacer: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    units: list[dict[str, Any]] = field(default_factory=list)  # scale-out: each server's published figures
    live_at: float | None = None  # scale-out: when the oldest live unit's figures were published

    @property
    def calls(self) -> int:
        return sum(self.outcomes.values())

    @property
    def contacts_total(self) -> int:
        return sum(self.contacts.values())

    @property
    def contacts_finished(self) -> int:
        return self.contacts_total - self.contacts.get("pending", 0) - self.contacts.get("dialing", 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "name": self.name,
            "status": self.status,
            "calls": self.calls,
            "outcomes": self.outcomes,
            "contacts": self.contacts,
            "contacts_remaining": self.contacts.get("pending", 0) + self.contacts.get("dialing", 0),
            "abandon": self.abandon,
            "active_calls": self.active_calls,
            "occupancy": self.occupancy,
            "connects_per_agent_hour": self.connects_per_agent_hour,
            "talk_min_per_agent_hour": self.talk_min_per_agent_hour,
            "agent_hours": self.agent_hours,
            "dial_level": self.dial_level,
            "pacer": self.pacer,
            "agents": self.agents,
            "note": self.note,
            "units": self.units,
            "live_at": self.live_at,
        }


def campaign_report(session: Session, campaign_id: str, now: float, engine: StatusView | None = None) -> CampaignReport:
    campaign = CampaignRepository(session).get_with_links(campaign_id)
    contacts = contact_status_counts(session, campaign_id)
    report = CampaignReport(
        campaign_id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        outcomes=outcome_counts(session, campaign_id),
        contacts=contacts,
        abandon={
            "campaign": abandon_rate(session, campaign_id),
            "24h": abandon_rate(session, campaign_id, now - DAY_S),
            "30d": abandon_rate(session, campaign_id, now - 30 * DAY_S),
        },
        agents=[
            {"id": a.id, "name": a.name, "interface": a.interface, "state": a.state, "pause_reason": a.pause_reason}
            for a in sorted(campaign.agents, key=lambda a: a.name)
        ],
        active_calls=open_call_count(session, campaign_id),
    )
    status = engine.status(campaign_id) if engine is not None else None
    if status is not None and status.counters is not None:
        c = status.counters
        report.agent_hours = c.agent_s / 3600.0
        if c.agent_s > 0:
            report.occupancy = c.handle_s / c.agent_s
            report.connects_per_agent_hour = c.connects / report.agent_hours
            report.talk_min_per_agent_hour = (c.talk_s / 60.0) / report.agent_hours
        report.pacer = _pacer(status)
        level = status.estimates.get("dial_level")
        if level is None:
            # The predictive pacer has no fixed level: show the one it dials at now.
            working = sum(1 for a in report.agents if a["state"] not in ("logged_out", "paused"))
            level = report.active_calls / working if working else None
        report.dial_level = None if level is None else float(level)
    if status is not None:
        report.note = status.note
        report.units = [_unit(u) for u in status.units]
        report.live_at = status.live_at
    return report


def _pacer(status: CampaignStatus) -> dict[str, Any]:
    pacer: dict[str, Any] = {"mode": status.pacer_mode, "estimates": dict(status.estimates)}
    if status.last_decision is not None:
        dials, reason = status.last_decision
        pacer["last_decision"] = {"dials": dials, "reason": reason}
    pacer["abandon_windows"] = [
        {"window_s": w.window_s, "live_answers": w.live_answers, "abandons": w.abandons, "rate": w.rate}
        for w in status.abandon_windows
    ]
    return pacer


def _unit(unit: UnitStatus) -> dict[str, Any]:
    """One server's figures as its unit's holder published them."""
    figures, c = unit.figures, unit.figures.counters
    return {
        "server": unit.server,
        "node": unit.node,
        "token": unit.token,
        "owner_node": unit.owner_node,
        "live_at": unit.live_at,
        "age_s": unit.age_s,
        "stale": unit.stale,
        "note": figures.note,
        "outcomes": {} if c is None else dict(c.outcomes),
        "dials": None if c is None else c.dials,
        "connects": None if c is None else c.connects,
        "agent_hours": None if c is None else c.agent_s / 3600.0,
        "occupancy": None if c is None or c.agent_s <= 0 else c.handle_s / c.agent_s,
        "pacer": _pacer(figures),
    }


def agent_states(session: Session) -> dict[str, str]:
    return AgentRepository(session).states_by_name()


__all__ = ["CampaignReport", "agent_states", "campaign_report"]
