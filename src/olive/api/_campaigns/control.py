"""Driving campaigns through the engine (start, pause, resume, stop) and reading their figures.

The engine's control verbs are coroutines run on the engine's event loop; the
engine's state is read there (``engine.status``), the store's in the thread pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from olive.api._campaigns import service
from olive.api._campaigns.schemas import CampaignOut, CampaignStats
from olive.api._deps import ApiContext
from olive.engine import CampaignStatus, campaign_report
from olive.errors import Conflict
from olive.store import from_epoch, transaction


async def start(context: ApiContext, campaign_id: str) -> CampaignOut:
    """Start (or restart) dialing. 409 without agents, dial lists, a known server, or an allowed plan."""
    campaign = await read(context, campaign_id)
    servers = await context.engine_view(context.engine.servers)
    if campaign.server not in servers:
        known = ", ".join(sorted(servers)) or "none"
        raise Conflict(
            f"campaign {campaign.name} is on Asterisk server {campaign.server!r}, "
            f"which olive serve is not configured for (configured: {known})",
            field="server",
        )
    await context.on_engine(context.engine.control.start_campaign(campaign_id))
    return await read(context, campaign_id)


async def pause(context: ApiContext, campaign_id: str) -> CampaignOut:
    await read(context, campaign_id)  # 404 before anything else
    await context.on_engine(context.engine.control.pause_campaign(campaign_id))
    return await read(context, campaign_id)


async def resume(context: ApiContext, campaign_id: str) -> CampaignOut:
    await read(context, campaign_id)
    await context.on_engine(context.engine.control.resume_campaign(campaign_id))
    return await read(context, campaign_id)


async def stop(context: ApiContext, campaign_id: str, *, force: bool) -> tuple[CampaignOut, int]:
    """Stop dialing. Calls in progress finish, unless ``force`` hangs them up."""
    await read(context, campaign_id)
    hung_up = await context.on_engine(context.engine.control.stop_campaign(campaign_id, force=force))
    return await read(context, campaign_id), hung_up


def read_sync(context: ApiContext, campaign_id: str) -> CampaignOut:
    with transaction(context.sessions) as session:
        campaign = service.get(session, campaign_id)
        return service.to_out(session, campaign, context.engine.note(campaign.id))


async def read(context: ApiContext, campaign_id: str) -> CampaignOut:
    return await run_in_threadpool(read_sync, context, campaign_id)


@dataclass(frozen=True)
class _Seen:
    """The engine's view of one campaign, taken on its loop, for a report built in a thread."""

    seen: CampaignStatus

    def status(self, campaign_id: str) -> CampaignStatus:
        return self.seen


async def stats(context: ApiContext, campaign_id: str) -> CampaignStats:
    """The campaign's figures now: the engine's view is read on its loop, the store's
    figures in the thread pool (never a database wait on the event loop)."""
    seen = _Seen(await context.engine_view(context.engine.status, campaign_id))
    return await run_in_threadpool(_stats, context, campaign_id, seen)


def _stats(context: ApiContext, campaign_id: str, seen: _Seen) -> CampaignStats:
    now = context.engine.clock.now()
    with transaction(context.sessions) as session:
        service.get(session, campaign_id)
        report = campaign_report(session, campaign_id, now, seen).as_dict()
    report["pacer"] = _finite_pacer(report.get("pacer"))
    for key in ("occupancy", "connects_per_agent_hour", "talk_min_per_agent_hour", "dial_level"):
        report[key] = _finite(report.get(key))
    report["at"] = from_epoch(now)
    report["live_at"] = None if report.get("live_at") is None else from_epoch(report["live_at"])
    report["units"] = [
        {**unit, "live_at": from_epoch(unit["live_at"]), "occupancy": _finite(unit["occupancy"]),
         "pacer": _finite_pacer(unit["pacer"])}
        for unit in report.get("units") or ()
    ]
    return CampaignStats.model_validate(report)


def _finite_pacer(raw: dict[str, Any] | None) -> dict[str, Any]:
    pacer: dict[str, Any] = dict(raw or {})
    pacer["estimates"] = {k: _finite(v) for k, v in (pacer.get("estimates") or {}).items()}
    return pacer


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


__all__ = ["pause", "read", "read_sync", "resume", "start", "stats", "stop"]
