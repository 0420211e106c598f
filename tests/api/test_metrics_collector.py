"""The /metrics collector read directly: one campaign the store no longer has must not blank the scrape."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client.core import Metric
from sqlalchemy.orm import Session, sessionmaker

from olive.clock import ManualClock
from olive.metrics._collector import EngineCollector
from olive.store import ServerLimits, register_servers, transaction


def _series(metrics: list[Metric]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for m in metrics for s in m.samples}


def test_a_campaign_deleted_since_the_engine_read_it_leaves_the_rest_of_the_scrape(session_factory: sessionmaker[Session]) -> None:
    """The engine keeps its campaigns between reads; one deleted meanwhile (as between two tests
    of tests/api/test_pool.py) made the whole store part say the database was down."""
    with transaction(session_factory) as s:
        register_servers(s, {"pbx-a": ServerLimits(max_channels=10)})
    engine = SimpleNamespace(
        sessions=session_factory, clock=ManualClock(1_000_000.0), links={}, campaigns=[SimpleNamespace(id="camp_gone")],
        runners={}, status_note={},
    )
    got = _series(list(EngineCollector(engine)._store()))  # type: ignore[arg-type]
    assert got[("olive_database_up", ())] == 1.0
    assert got[("olive_server_max_channels", (("server", "pbx-a"),))] == 10.0
