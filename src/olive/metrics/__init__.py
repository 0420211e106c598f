"""Prometheus metrics: what the API serves at ``/metrics``.

:class:`Metrics` owns one registry per app (tests run many apps in one process).
Counters and histograms that code increments live on it (engine ticks, API
requests); figures that already exist elsewhere (calls by outcome, agents by
state, pacer estimates, abandon rates, AMI links) are read at scrape time by
:class:`EngineCollector`, so they cannot drift from the store and survive a restart.

Adding a metric: put it on :class:`Metrics` (an increment) or in
:class:`EngineCollector` (a reading); name it ``olive_<what>[_<unit>][_total]``;
list it in docs/operations.md.
"""

from olive.metrics._collector import EngineCollector
from olive.metrics._metrics import CONTENT_TYPE, Metrics

__all__ = ["CONTENT_TYPE", "EngineCollector", "Metrics"]
