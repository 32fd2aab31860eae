"""Gauges read from the database when Prometheus scrapes `/metrics`: open and overdue
problems, each tenant's last successful import and whether its daily batch is late or the
tenant is paused, and the alert delivery log by status.

Counters live in the process (`observability.Metrics`); these figures are the database's, so
every replica reports the same values. One scrape costs three small grouped reads (the
freshness view reads one index entry per tenant), at most once per
PROJECTS_IMPORT_METRICS_CACHE_SECONDS (default 5) however many scrapers ask: concurrent
scrapes share one read, and later ones within that time are served the same snapshot.
Tenant labels are `tenant`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from projects_import.db.connection import Database

log = structlog.get_logger("projects_import.metrics")


@dataclass
class Snapshot:
    problems: list[dict[str, Any]] = field(default_factory=list)
    freshness: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    up: bool = False


class DatabaseGauges(Collector):
    """A collector of the last snapshot; `refresh()` reads a new one when it is too old."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()
        self.taken: float | None = None  # monotonic time of the last read
        self.reads = 0
        self._lock = asyncio.Lock()

    async def refresh(self, db: Database, max_age: float = 0.0) -> None:
        """A new snapshot, unless the last one is younger than `max_age` seconds."""
        async with self._lock:
            if self.taken is not None and time.monotonic() - self.taken < max_age:
                return
            await self._read(db)
            self.taken = time.monotonic()

    async def _read(self, db: Database) -> None:
        self.reads += 1
        try:
            async with db.session(timeout=5) as session:
                problems = await session.fetch_all("metrics_problems")
                freshness = await session.fetch_all("metrics_freshness")
                deliveries = await session.fetch_all("alert_deliveries_by_status")
        except Exception as exc:  # a scrape still shows the process's own figures
            log.warning("metrics_database_unavailable", error=type(exc).__name__)
            self.snapshot = Snapshot()
            return
        self.snapshot = Snapshot(problems, freshness, deliveries, up=True)

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        up = GaugeMetricFamily("projects_import_database_up",
                               "1 when the last scrape could read the database")
        up.add_metric([], 1 if snap.up else 0)
        yield up
        labels = ["tenant", "anomaly_type", "severity"]
        open_ = GaugeMetricFamily("projects_import_problems_open",
                                  "Problems open (neither acknowledged nor resolved)",
                                  labels=labels)
        acked = GaugeMetricFamily("projects_import_problems_acknowledged",
                                  "Problems acknowledged and not yet resolved", labels=labels)
        overdue = GaugeMetricFamily(
            "projects_import_problems_overdue",
            "Problems past their SLA: open past ack_due_at, or unresolved past resolve_due_at",
            labels=labels)
        for row in snap.problems:
            key = [row["tenant_id"], row["anomaly_type"], row["severity"]]
            open_.add_metric(key, row["open"])
            acked.add_metric(key, row["acknowledged"])
            overdue.add_metric(key, row["overdue"])
        yield from (open_, acked, overdue)
        last = GaugeMetricFamily(
            "projects_import_last_success_timestamp_seconds",
            "Unix time of the tenant's last successful import (merged or replayed)",
            labels=["tenant"])
        late = GaugeMetricFamily(
            "projects_import_tenant_late",
            "1 when the tenant's daily batch has not arrived by its schedule plus grace",
            labels=["tenant"])
        paused = GaugeMetricFamily("projects_import_tenant_paused",
                                   "1 while the tenant's imports are paused (quarantine)",
                                   labels=["tenant"])
        for row in snap.freshness:
            if row["last_success"] is not None:
                last.add_metric([row["tenant_id"]], float(row["last_success"]))
            late.add_metric([row["tenant_id"]], 1 if row["late"] else 0)
            paused.add_metric([row["tenant_id"]], 1 if row["paused"] else 0)
        yield from (last, late, paused)
        sent = GaugeMetricFamily("projects_import_alert_deliveries",
                                 "Alert and escalation deliveries in the log, by status",
                                 labels=["tenant", "kind", "status"])
        for row in snap.deliveries:
            sent.add_metric([row["tenant_id"], row["kind"], row["status"]], row["deliveries"])
        yield sent
