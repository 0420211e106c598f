"""Figures read at scrape time from the engine and the store."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from olive.calls import AgentState
from olive.store import (
    SERVER_HEALTH,
    NotFound,
    calls_in_progress_by_server,
    live_nodes,
    ping,
    server_views,
    servers,
    units,
)

if TYPE_CHECKING:
    from prometheus_client import Metric
    from sqlalchemy.orm import Session

    from olive.engine import CampaignReport, Engine

log = logging.getLogger("olive.metrics")

LINK_STATES = ("ready", "reconciling", "disconnected", "shutting_down")
AGENT_STATES = tuple(s.value for s in AgentState)


class EngineCollector(Collector):
    """Campaigns (running and paused), agents, AMI links and the database, as they are now."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        yield from self._links()
        yield from self._store()

    def _links(self) -> Iterator[Metric]:
        connected = GaugeMetricFamily("olive_ami_up", "1 when the AMI link is logged in and reconciled (dialing allowed)", labels=["server"])
        state = GaugeMetricFamily("olive_ami_link_state", "The AMI link's state (1 for the current one)", labels=["server", "state"])
        reconnects = CounterMetricFamily("olive_ami_reconnects", "AMI logins after the first, since olive started", labels=["server"])
        malformed = CounterMetricFamily("olive_ami_malformed_events", "AMI events skipped as malformed", labels=["server"])
        failed = CounterMetricFamily(
            "olive_engine_event_failures", "AMI events whose applying raised (contained to that call)", labels=["server"]
        )
        stamps = CounterMetricFamily(
            "olive_ami_timestamps_ignored",
            "AMI event Timestamps outside the sane window, replaced by olive's clock",
            labels=["server"],
        )
        lag = GaugeMetricFamily(
            "olive_ami_event_lag_seconds",
            "How much later than the quickest one the last time-stamped AMI event arrived",
            labels=["server"],
        )
        for name, link in list(self.engine.links.items()):
            connected.add_metric([name], 1.0 if link.ready else 0.0)
            for value in LINK_STATES:
                state.add_metric([name, value], 1.0 if link.state.value == value else 0.0)
            logins = getattr(link.client, "connections", 0)
            reconnects.add_metric([name], float(max(0, logins - 1)))
            malformed.add_metric([name], float(link.malformed_events))
            failed.add_metric([name], float(link.event_failures))
            stamps.add_metric([name], float(link.event_clock.ignored))
            if (late := link.event_lag_s) is not None:
                lag.add_metric([name], late)
        yield from (connected, state, reconnects, malformed, failed, stamps, lag)
        health = self.engine.health
        ticks = CounterMetricFamily("olive_engine_tick_failures", "Engine ticks that raised (the next tick retries)")
        ticks.add_metric([], float(health.tick_failures))
        aside = CounterMetricFamily(
            "olive_engine_changes_set_aside", "Call or agent changes the database refused alone, set aside so ticks go on"
        )
        aside.add_metric([], float(health.changes_set_aside))
        yield from (ticks, aside)

    @staticmethod
    def _pool(pool: tuple[Any, ...]) -> Iterator[Metric]:
        """The scale-out pool (docs/scale-out.md): one series per server, node and unit, none per call."""
        pool_servers, nodes, pool_units, in_progress, views = pool
        health = GaugeMetricFamily(
            "olive_server_health",
            "The server's health combined from the nodes' views that count (1 for the current one)",
            labels=["server", "health"],
        )
        seen = GaugeMetricFamily(
            "olive_server_health_seen",
            "What each node sees of the server (1 for the current one); views that count only: fresh, from a live node",
            labels=["server", "node", "health"],
        )
        for view in views:
            if view.counts:
                for value in SERVER_HEALTH:
                    seen.add_metric([view.server, view.node, value], 1.0 if view.health == value else 0.0)
        channels = GaugeMetricFamily("olive_server_calls_in_progress", "Calls not ended on the server", labels=["server"])
        limit = GaugeMetricFamily(
            "olive_server_max_channels", "The server's max_channels (absent: no limit)", labels=["server"]
        )
        for server in pool_servers:
            for value in SERVER_HEALTH:
                health.add_metric([server.name, value], 1.0 if server.health == value else 0.0)
            channels.add_metric([server.name], float(in_progress.get(server.name, 0)))
            if server.max_channels is not None:
                limit.add_metric([server.name], float(server.max_channels))
        node_up = GaugeMetricFamily("olive_node_up", "1 for each live olive node (heartbeat not expired)", labels=["node"])
        held_by = GaugeMetricFamily("olive_node_units", "Units whose lease the node holds", labels=["node"])
        owner = GaugeMetricFamily(
            "olive_unit_owner", "1 for each unit (campaign id, server) and the node holding its lease",
            labels=["campaign", "server", "node"],
        )
        unowned = GaugeMetricFamily("olive_units_unowned", "Units no node holds (free, or their lease ran out)")
        now = time.time()
        held: Counter[str] = Counter()
        free = 0
        for unit in pool_units:
            if unit.owner_node is not None and unit.expires_at is not None and unit.expires_at > now:
                held[unit.owner_node] += 1
                owner.add_metric([unit.campaign_id, unit.server, unit.owner_node], 1.0)
            else:
                free += 1
        for node in nodes:
            node_up.add_metric([node.name], 1.0)
            held_by.add_metric([node.name], float(held.get(node.name, 0)))
        unowned.add_metric([], float(free))
        yield from (health, seen, channels, limit, node_up, held_by, owner, unowned)

    def _store(self) -> Iterator[Metric]:
        from olive.engine import agent_states

        engine = self.engine
        latency = GaugeMetricFamily("olive_database_latency_seconds", "Round trip of a SELECT 1 at this scrape")
        up = GaugeMetricFamily("olive_database_up", "1 when the database answered this scrape")
        started = time.perf_counter()
        try:
            with engine.sessions() as session:
                ping(session)
                latency.add_metric([], time.perf_counter() - started)
                up.add_metric([], 1.0)
                agents = Counter(agent_states(session).values())
                now = engine.clock.now()
                reports = [r for c in list(engine.campaigns) if (r := _report_if_there(session, c.id, now, engine)) is not None]
                pool = (
                    servers(session), live_nodes(session), units(session), calls_in_progress_by_server(session),
                    server_views(session),
                )
        except Exception:  # the scrape still tells that the database is away
            log.warning("metrics: the store could not be read at this scrape", exc_info=True)
            up.add_metric([], 0.0)
            yield from (latency, up)
            return
        yield from (latency, up)
        yield from self._pool(pool)
        by_state = GaugeMetricFamily("olive_agents", "Agents by state (all agents olive knows)", labels=["state"])
        for value in sorted(set(AGENT_STATES) | set(agents)):
            by_state.add_metric([value], float(agents.get(value, 0)))
        yield by_state
        calls = CounterMetricFamily("olive_calls", "Finished calls by outcome", labels=["campaign", "outcome"])
        active = GaugeMetricFamily("olive_calls_active", "Calls in progress (dialing, ringing, queued, talking)", labels=["campaign"])
        running = GaugeMetricFamily("olive_campaign_running", "1 when the campaign is running, 0 when paused", labels=["campaign"])
        abandon = GaugeMetricFamily(
            "olive_abandon_rate", "Abandoned / live answers over a window (campaign, 24h, 30d)", labels=["campaign", "window"]
        )
        answers = GaugeMetricFamily("olive_live_answers", "Live answers over a window", labels=["campaign", "window"])
        estimates = GaugeMetricFamily("olive_pacer_estimate", "The pacer's current estimates", labels=["campaign", "estimate"])
        level = GaugeMetricFamily("olive_dial_level", "Calls in progress per working agent, or the fixed dial level", labels=["campaign"])
        occupancy = GaugeMetricFamily("olive_agent_occupancy", "Share of agent time spent on calls", labels=["campaign"])
        for report in reports:
            name = report.name
            for outcome, count in sorted(report.outcomes.items()):
                calls.add_metric([name, outcome], float(count))
            active.add_metric([name], float(report.active_calls))
            running.add_metric([name], 1.0 if report.status == "running" else 0.0)
            for window, figures in report.abandon.items():
                abandon.add_metric([name, window], float(figures["rate"]))
                answers.add_metric([name, window], float(figures["live_answers"]))
            for key, value in sorted((report.pacer.get("estimates") or {}).items()):
                if value is not None and math.isfinite(value):
                    estimates.add_metric([name, key], float(value))
            if report.dial_level is not None:
                level.add_metric([name], report.dial_level)
            if report.occupancy is not None:
                occupancy.add_metric([name], report.occupancy)
        yield from (calls, active, running, abandon, answers, estimates, level, occupancy)


__all__ = ["EngineCollector"]


def _report_if_there(session: Session, campaign_id: str, now: float, engine: Engine) -> CampaignReport | None:
    """A campaign deleted since the engine last read its campaigns has no figures: the rest of
    the scrape goes on (one missing campaign made the whole store part say the database was down)."""
    from olive.engine import campaign_report

    try:
        return campaign_report(session, campaign_id, now, engine)
    except NotFound:
        return None

