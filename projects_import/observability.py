"""JSON logs (structlog) and Prometheus metrics (SPEC §6).

Log events carry ids, counts and timings only: never names, usernames, payload values,
bearer secrets or tokens.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram

from projects_import.gauges import DatabaseGauges

_configured = False


class _CurrentStderr:
    """Writes to whatever sys.stderr is at the time, so redirected stderr is honoured."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: int = logging.INFO) -> None:
    """Every log line is one JSON object on stderr, ours and the libraries' alike."""
    global _configured
    if _configured:
        return
    _configured = True
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(),
        foreign_pre_chain=[structlog.stdlib.add_logger_name,
                           structlog.processors.add_log_level, timestamper],
    ))
    root = logging.getLogger()
    root.addHandler(handler)  # beside any handler already there (e.g. a test's capture)
    root.setLevel(level)
    # the scheduler narrates every start and stop at INFO; its warnings still show
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO; a webhook URL often carries a token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )


class Metrics:
    """The service's Prometheus figures, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["tenant_id", "status"]
        self.requests = Counter("projects_import_requests_total",
                                "Import requests by tenant and HTTP status", labels,
                                registry=self.registry)
        self.rows = Counter("projects_import_rows_total", "Rows received in accepted imports",
                            labels, registry=self.registry)
        self.inserted = Counter("projects_import_inserted_projects_total",
                                "Projects inserted", labels, registry=self.registry)
        self.updated = Counter("projects_import_updated_projects_total",
                               "Projects updated (existing and changed)", labels,
                               registry=self.registry)
        self.org_memberships = Counter("projects_import_org_memberships_upserted_total",
                                       "Org memberships added", labels, registry=self.registry)
        self.user_memberships = Counter("projects_import_user_memberships_upserted_total",
                                        "User memberships added", labels,
                                        registry=self.registry)
        self.anomalies = Counter("projects_import_anomalies_total",
                                 "Anomalies recorded by imports", labels, registry=self.registry)
        self.bytes = Counter("projects_import_bytes_total", "Request body bytes read", labels,
                             registry=self.registry)
        buckets = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
        self.parse_seconds = Histogram("projects_import_parse_seconds",
                                       "Body read, parse and validation time", labels,
                                       buckets=buckets, registry=self.registry)
        self.merge_seconds = Histogram("projects_import_merge_seconds",
                                       "Stage + merge transaction time", labels,
                                       buckets=buckets, registry=self.registry)
        self.refused = Counter("projects_import_requests_refused_total",
                               "Requests answered 503/429 for load or limits, by reason "
                               "(overloaded, client_connections, client_requests, signin)",
                               ["reason"], registry=self.registry)
        # the database's figures (problems, freshness, alert deliveries), read at scrape time
        self.database = DatabaseGauges()
        self.registry.register(self.database)

    def count_import(self, fields: dict[str, Any], status: int) -> None:
        """Count one import request from its log fields (merged figures only when accepted
        and not a replay)."""
        labels = {"tenant_id": fields.get("tenant_id", "unknown"), "status": str(status)}
        self.requests.labels(**labels).inc()
        self.bytes.labels(**labels).inc(fields.get("bytes", 0))
        if "parse_ms" in fields:
            self.parse_seconds.labels(**labels).observe(fields["parse_ms"] / 1000)
        if "merge_ms" in fields:
            self.merge_seconds.labels(**labels).observe(fields["merge_ms"] / 1000)
        if status != 200 or fields.get("replayed"):
            return
        for counter, name in ((self.rows, "rows"), (self.inserted, "inserted"),
                              (self.updated, "updated"),
                              (self.org_memberships, "org_memberships_upserted"),
                              (self.user_memberships, "user_memberships_upserted"),
                              (self.anomalies, "anomalies_count")):
            counter.labels(**labels).inc(fields.get(name, 0))
