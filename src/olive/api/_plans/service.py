"""Plans: create, read, change and delete, with the checks that involve other rows.

Services flush but never commit; the request owns the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from olive.api._deps import Paging
from olive.api._plans.schemas import PlanCreate
from olive.api._schemas import get_or_404, validate_merged
from olive.errors import Conflict
from olive.specs import check_plan_for_profile
from olive.store import Campaign, Page, Plan, PlanRepository


def list_plans(session: Session, paging: Paging, *, name: str | None, dial_mode: str | None) -> Page[Plan]:
    return PlanRepository(session).list_by(
        {"name": name, "dial_mode": dial_mode}, order_by=("created_at",), limit=paging.limit, offset=paging.offset
    )


def get(session: Session, plan_id: str) -> Plan:
    return get_or_404(PlanRepository(session), plan_id)


def create(session: Session, spec: PlanCreate) -> Plan:
    repo = PlanRepository(session)
    _unique_name(repo, spec.name)
    return repo.add(Plan(name=spec.name, **spec.to_row()))


def update(session: Session, plan_id: str, changes: dict[str, Any]) -> Plan:
    """Apply a PATCH. Campaigns running on the plan use it from their next call on."""
    repo = PlanRepository(session)
    plan = get_or_404(repo, plan_id)
    current = plan.snapshot()
    current.pop("id")
    current["context"] = plan.context  # the plan's own: the snapshot's is where calls go (olive-amd, olive-broadcast)
    spec = validate_merged(PlanCreate, {**current, **changes})
    if spec.name != plan.name:
        _unique_name(repo, spec.name)
    _check_profiles(repo.campaigns_using(plan.id), spec)
    plan.name = spec.name
    for key, value in spec.to_row().items():
        setattr(plan, key, value)
    session.flush()
    return plan


def delete(session: Session, plan_id: str) -> None:
    repo = PlanRepository(session)
    plan = get_or_404(repo, plan_id)
    users = repo.campaigns_using(plan.id)
    if users:
        running = [c.name for c in users if c.status in ("running", "paused")]
        which = f"running campaign(s) {', '.join(running)}" if running else f"campaign(s) {', '.join(c.name for c in users)}"
        raise Conflict(f"plan {plan.name} is used by {which}; give them another plan first")
    repo.delete(plan)


def _unique_name(repo: PlanRepository, name: str) -> None:
    if repo.get_by_name(name) is not None:
        raise Conflict(f"a plan named {name!r} already exists", field="name")


def _check_profiles(campaigns: list[Campaign], spec: PlanCreate) -> None:
    for campaign in campaigns:
        problems = check_plan_for_profile(spec, campaign.compliance_profile)
        if problems:
            raise Conflict(
                f"campaign {campaign.name} uses this plan under the {campaign.compliance_profile} profile: "
                + "; ".join(problems)
            )


__all__ = ["create", "delete", "get", "list_plans", "update"]
