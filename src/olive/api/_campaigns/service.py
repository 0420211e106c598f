"""Campaigns: create, read, change and delete, checking the rows they refer to.

Services flush but never commit; the request owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from olive.api._campaigns.schemas import CampaignCreate, CampaignOut
from olive.api._deps import Paging
from olive.api._schemas import get_or_404, validate_merged, well_formed_id
from olive.compliance import ScheduleError, check_schedule_for_profile, parse_schedule
from olive.errors import Conflict, Invalid
from olive.specs import check_plan_for_profile
from olive.store import (
    CAMPAIGN_LINKS,
    AgentRepository,
    Base,
    Call,
    CallRepository,
    Campaign,
    CampaignRepository,
    DialListRepository,
    Page,
    Plan,
    PlanRepository,
    Repository,
    campaign_servers,
    pool_servers,
    set_campaign_servers,
    unit_servers,
)

ACTIVE = ("running", "paused")
M = TypeVar("M", bound=Base)


def list_campaigns(
    session: Session, paging: Paging, *, status: str | None, plan_id: str | None, name: str | None
) -> Page[Campaign]:
    return CampaignRepository(session).list_by(
        {"status": status, "plan_id": plan_id, "name": name},
        order_by=("created_at",), limit=paging.limit, offset=paging.offset, options=CAMPAIGN_LINKS,
    )


def get(session: Session, campaign_id: str) -> Campaign:
    return get_or_404(CampaignRepository(session), campaign_id, options=CAMPAIGN_LINKS)


def create(session: Session, spec: CampaignCreate) -> Campaign:
    repo = CampaignRepository(session)
    _unique_name(repo, spec.name)
    plan = _ref(PlanRepository(session), spec.plan_id, "plan_id")
    _check_profile(plan, spec.compliance_profile, spec.schedule)
    server, servers = _servers(spec.server, spec.servers, server_given="server" in spec.model_fields_set)
    campaign = Campaign(
        name=spec.name,
        plan=plan,
        queue=spec.queue,
        server=server,
        compliance_profile=spec.compliance_profile,
        default_region=spec.default_region,
        schedule=spec.schedule,
        dial_lists=_refs(DialListRepository(session), spec.dial_list_ids, "dial_list_ids"),
        agents=_refs(AgentRepository(session), spec.agent_ids, "agent_ids"),
    )
    repo.add(campaign)
    _set_servers(session, campaign.id, servers)
    return get(session, campaign.id)


def update(session: Session, campaign_id: str, changes: dict[str, Any]) -> Campaign:
    repo = CampaignRepository(session)
    campaign = get(session, campaign_id)
    servers_now = campaign_servers(session, [(campaign.id, campaign.server)])[campaign.id]
    current = {
        "name": campaign.name,
        "queue": campaign.queue,
        "server": campaign.server,
        "servers": servers_now,
        "compliance_profile": campaign.compliance_profile,
        "default_region": campaign.default_region,
        "schedule": campaign.schedule,
        "plan_id": campaign.plan_id,
        "dial_list_ids": [d.id for d in campaign.dial_lists],
        "agent_ids": [a.id for a in campaign.agents],
    }
    if "server" in changes and "servers" not in changes:  # the new server replaces the old first one
        changes = {**changes, "servers": [changes["server"], *servers_now[1:]]}
    spec = validate_merged(CampaignCreate, {**current, **changes})
    server, servers = _servers(spec.server, spec.servers, server_given="server" in changes)
    spec = spec.model_copy(update={"server": server, "servers": servers})
    if spec.name != campaign.name:
        _unique_name(repo, spec.name)
    if campaign.status in ACTIVE:
        for key in ("queue", "server", "servers"):
            if getattr(spec, key) != current[key]:
                raise Conflict(f"campaign {campaign.name} is {campaign.status}; stop it to change its {key}", field=key)
    if servers != servers_now:
        _set_servers(session, campaign.id, servers)
    plan = campaign.plan if spec.plan_id == campaign.plan_id else _ref(PlanRepository(session), spec.plan_id, "plan_id")
    _check_profile(plan, spec.compliance_profile, spec.schedule)
    campaign.name, campaign.queue, campaign.server = spec.name, spec.queue, spec.server
    campaign.compliance_profile, campaign.default_region = spec.compliance_profile, spec.default_region
    campaign.schedule = spec.schedule
    campaign.plan = plan
    if "dial_list_ids" in changes:
        campaign.dial_lists = _refs(DialListRepository(session), spec.dial_list_ids, "dial_list_ids")
    if "agent_ids" in changes:
        campaign.agents = _refs(AgentRepository(session), spec.agent_ids, "agent_ids")
    session.flush()
    return campaign


def delete(session: Session, campaign_id: str) -> None:
    campaign = get_or_404(CampaignRepository(session), campaign_id)
    if campaign.status in ACTIVE:
        raise Conflict(f"campaign {campaign.name} is {campaign.status}; stop it first", field="status")
    calls = CallRepository(session).count(Call.campaign_id == campaign.id)
    if calls:
        raise Conflict(f"campaign {campaign.name} has {calls} call record(s), which are kept; it cannot be deleted")
    CampaignRepository(session).delete(campaign)


def to_out(session: Session, campaign: Campaign, note: str | None = None) -> CampaignOut:
    return to_outs(session, [campaign], lambda _: note)[0]


def to_outs(session: Session, campaigns: Sequence[Campaign], note: Callable[[str], str | None]) -> list[CampaignOut]:
    """The campaigns as the API returns them (their servers read in one statement)."""
    servers = campaign_servers(session, [(c.id, c.server) for c in campaigns])
    return [_out(c, note(c.id), servers[c.id]) for c in campaigns]


def _out(campaign: Campaign, note: str | None, servers: list[str]) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        name=campaign.name,
        status=campaign.status,  # type: ignore[arg-type]
        plan_id=campaign.plan_id,
        queue=campaign.queue,
        server=campaign.server,
        servers=servers,
        compliance_profile=campaign.compliance_profile,  # type: ignore[arg-type]
        default_region=campaign.default_region,
        schedule=campaign.schedule,
        dial_list_ids=[d.id for d in campaign.dial_lists],
        agent_ids=[a.id for a in campaign.agents],
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
        note=note if campaign.status in ACTIVE else None,
    )


def _servers(server: str, servers: Sequence[str] | None, *, server_given: bool) -> tuple[str, list[str]]:
    """The campaign's first server and all its servers, first first, each once: ``servers``
    without ``server`` makes its first one the campaign's ``server`` (unless ``server`` is among them)."""
    if servers is None:
        return server, [server]
    ordered = list(dict.fromkeys(servers))
    if server not in ordered:
        if server_given:
            raise Invalid(
                f"servers must include the campaign's server {server!r} (agents without a server are on it)",
                field="servers",
            )
        server = ordered[0]
    return server, [server, *(s for s in ordered if s != server)]


def _set_servers(session: Session, campaign_id: str, servers: list[str]) -> None:
    """One unit per server (store: ``set_campaign_servers``); 422 for a server the nodes do not have.
    A campaign on one server without units needs none yet: a node makes its unit when it runs."""
    if len(servers) == 1 and not unit_servers(session, campaign_id):
        return
    try:
        set_campaign_servers(session, campaign_id, servers)
    except LookupError as exc:
        pool = pool_servers(session)
        raise Invalid(f"{exc.args[0]} (configured: {', '.join(pool) or 'none yet'})", field="servers") from None


def _unique_name(repo: CampaignRepository, name: str) -> None:
    if repo.get_by_name(name) is not None:
        raise Conflict(f"a campaign named {name!r} already exists", field="name")


def _check_profile(plan: Plan, profile: str, schedule: dict[str, Any] | None = None) -> None:
    problems = check_plan_for_profile(plan.snapshot(), profile)
    if problems:
        raise Conflict(f"plan {plan.name} is not allowed under the {profile} profile: " + "; ".join(problems), field="plan_id")
    try:
        hours = parse_schedule(schedule)
    except ScheduleError as exc:
        raise Invalid(str(exc), field="schedule") from None
    problems = check_schedule_for_profile(hours, profile)
    if problems:
        raise Conflict("; ".join(problems), field="schedule")


def _ref(repo: Repository[M], id: str, field: str) -> M:
    found = repo.get(id) if well_formed_id(id) else None
    if found is None:
        raise Invalid(f"no {repo.kind} with id {id!r}", field=field)
    return found


def _refs(repo: Repository[M], ids: Sequence[str], field: str) -> list[M]:
    out: list[M] = []
    seen: set[str] = set()
    for index, id in enumerate(ids):
        if id not in seen:
            seen.add(id)
            out.append(_ref(repo, id, f"{field}[{index}]"))
    return out


__all__ = ["ACTIVE", "create", "delete", "get", "list_campaigns", "to_out", "to_outs", "update"]
