"""Prometheus metrics of one daemon (prometheus-client), on a registry of its own.

Counters and histograms are updated where the work happens (the pipeline, the scheduler jobs);
gauges about shared state (the outbox, the feeds' health) are read from the database when
``/metrics`` is scraped, so every daemon sharing one PostgreSQL reports the same totals.

Cardinality stays bounded: outcomes are error codes (a fixed set, monitor.errors), rule
labels are rule ids (never titles or URLs), channels are configured channel names.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.errors import StoreError
from monitor.store import Store, feed_status_counts, outbox_stats, paused_feeds

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_CYCLE_SECONDS = (1, 5, 15, 30, 60, 120, 300, 600, 1800)


class Metrics:
    """Every metric the daemon exports; ``render()`` is the body of ``/metrics``."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("newsmonitor_polls", "Feed polls by outcome (ok, not_modified or "
                             "the error code)", ["outcome"], registry=r)
        self.fetch_seconds = Histogram("newsmonitor_fetch_duration_seconds",
                                       "Time to fetch a feed or an article page", ["kind"],
                                       buckets=_SECONDS, registry=r)
        self.pages = Counter("newsmonitor_pages", "Article pages by stage (resolve, fetch, "
                             "extract) and outcome (ok, unresolved or the error code)",
                             ["stage", "outcome"],
                             registry=r)
        self.extract_seconds = Histogram("newsmonitor_extraction_seconds",
                                         "Time from handing a page to the extraction "
                                         "processes to its text", buckets=_SECONDS, registry=r)
        self.articles = Counter("newsmonitor_articles_stored", "New articles stored",
                                registry=r)
        self.hits = Counter("newsmonitor_hits", "Rule hits on new articles, by rule id",
                            ["rule"], registry=r)
        self.cycle_seconds = Histogram("newsmonitor_cycle_duration_seconds",
                                       "Duration of polling cycles that polled feeds",
                                       buckets=_CYCLE_SECONDS, registry=r)
        self.cycles = Counter("newsmonitor_cycles", "Polling cycles run", registry=r)
        self.last_cycle = Gauge("newsmonitor_last_cycle_timestamp_seconds",
                                "When the last cycle ended (Unix time)", registry=r)
        self.reloads = Counter("newsmonitor_rule_reloads", "Rule reloads by result (ok, failed)",
                               ["result"], registry=r)
        self.config_reloads = Counter("newsmonitor_config_reloads",
                                      "monitor.yaml reloads by result (ok, failed)",
                                      ["result"], registry=r)
        self.rules_loaded = Gauge("newsmonitor_rules_loaded", "Rules in force", registry=r)
        self.db_errors = Counter("newsmonitor_database_errors",
                                 "Jobs and scrapes that found the database unavailable",
                                 registry=r)
        self.deliveries = Counter("newsmonitor_delivery_attempts",
                                  "Delivery attempts of this daemon by result (sent, retried, "
                                  "dead, unknown)", ["result"], registry=r)
        self.pruned = Counter("newsmonitor_pruned_rows", "Rows removed or emptied by retention",
                              ["what"], registry=r)
        for outcome in ("ok", "not_modified"):
            self.polls.labels(outcome=outcome)
        for result in ("ok", "failed"):
            self.reloads.labels(result=result)
            self.config_reloads.labels(result=result)

    def watch_store(self, store: Store) -> None:
        """Export the database-backed gauges (outbox, feeds) from ``store`` at each scrape."""
        self.registry.register(_StoreCollector(store, self.db_errors.inc))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def timed_fetch(self, kind: str) -> _Timer:
        return _Timer(self.fetch_seconds.labels(kind=kind).observe)


class _Timer:
    def __init__(self, observe: Callable[[float], None]) -> None:
        self._observe = observe
        self._start = 0.0

    def __enter__(self) -> _Timer:
        self._start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self._observe(time.monotonic() - self._start)


class _StoreCollector(Collector):
    """Gauges read from the database at scrape time."""

    def __init__(self, store: Store, on_error: Callable[[], None]) -> None:
        self._store = store
        self._on_error = on_error

    def describe(self) -> list[Metric]:
        return []  # collected lazily: no database query when the collector is registered

    def collect(self) -> Iterator[Metric]:
        try:
            stats = outbox_stats(self._store)
            feeds = feed_status_counts(self._store)
            paused = paused_feeds(self._store)
        except StoreError as exc:
            self._on_error()
            log.warning("metrics: database unavailable: %s", exc)
            return
        notes = GaugeMetricFamily("newsmonitor_notifications",
                                  "Outbox rows by status and channel", labels=["status", "channel"])
        for (status, channel), count in sorted(stats.by_status_channel.items()):
            notes.add_metric([status, channel], count)
        yield notes
        yield GaugeMetricFamily("newsmonitor_outbox_depth",
                                "Notifications not yet sent nor dead", value=stats.depth)
        age = 0.0
        if stats.oldest_pending_at is not None:
            age = max(0.0, (self._store.clock() - stats.oldest_pending_at).total_seconds())
        yield GaugeMetricFamily("newsmonitor_outbox_oldest_pending_age_seconds",
                                "Age of the oldest notification not yet sent nor dead",
                                value=age)
        health = GaugeMetricFamily("newsmonitor_feeds", "Active feeds by health status",
                                   labels=["status"])
        for status in ("ok", "degraded", "failing", "disabled", "never polled"):
            health.add_metric([status.replace(" ", "_")], feeds.get(status, 0))
        yield health
        yield GaugeMetricFamily("newsmonitor_feeds_paused",
                                "Feeds paused by a server's Retry-After", value=paused)
