"""What the console's Overview shows, read under the signed-in user's role (SPEC §4.4).

Every query runs in `Database.user_transaction` with the user's claims, so row-level security
and the operator-only function refuse a non-operator in the database too, not only here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from projects_import.anomalies.manager import totals
from projects_import.console.errors import ConsoleError
from projects_import.db.connection import Database
from projects_import.users import User
from projects_import.vocabulary import ANOMALY_TYPES, SEVERITIES

RECENT_ANOMALIES = 100
BATCHES_CHARTED = 30
MAX_WINDOW_DAYS = 90
DEFAULT_WINDOW_DAYS = 14


class UnknownChartTenant(ConsoleError):
    """The overview was asked for a tenant that does not exist (or the user cannot see)."""


@dataclass(frozen=True)
class Window:
    """The charts' time span: hourly buckets up to two days, daily beyond, on the wall clock
    of `zone` (local midnight to midnight)."""

    days: int = DEFAULT_WINDOW_DAYS
    tenant: str | None = None  # one tenant's charts, or every tenant's
    zone: str = "UTC"  # the wall clock the buckets and labels are on (the tenant's)

    @property
    def hourly(self) -> bool:
        return self.days <= 2

    @property
    def step(self) -> timedelta:
        return timedelta(hours=1) if self.hourly else timedelta(days=1)

    @property
    def buckets(self) -> int:
        return self.days * 24 if self.hourly else self.days


@dataclass
class OverviewData:
    window: Window
    anomalies_24h: int = 0
    by_tenant: list[tuple[str, int]] = field(default_factory=list)
    by_type: list[tuple[str, int]] = field(default_factory=list)
    by_severity: list[tuple[str, int]] = field(default_factory=list)
    imports_24h: list[dict[str, Any]] = field(default_factory=list)
    recent: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    recent_count: int = 0
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    anomalies_over_time: dict[str, list[int]] = field(default_factory=dict)
    membership_changes: list[dict[str, Any]] = field(default_factory=list)
    tenants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def buckets(self) -> list[datetime]:
        return [row["bucket_start"] for row in self.outcomes]


def _ranked(counts: dict[str, int], order: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    counter = Counter(counts)
    known = [(key, counter[key]) for key in order if counter[key]]
    rest = sorted((key, n) for key, n in counter.items() if key not in order)
    return known + rest


async def read_overview(db: Database, user: User, window: Window) -> OverviewData:
    """Everything the page shows, in one read-only transaction under the user's role."""
    data = OverviewData(window)
    async with db.user_transaction(user.claims, read_only=True) as tx:
        await tx.execute("transaction_utc")
        data.tenants = await tx.fetch_all("dashboard_tenant_glance")
        if window.tenant is not None:  # one tenant's charts, on its clock
            zone = next((t["timezone"] for t in data.tenants
                         if t["tenant_id"] == window.tenant), None)
            if zone is None:
                raise UnknownChartTenant(f"no tenant {window.tenant!r} to chart")
            window = data.window = replace(window, zone=zone)
        span = {"step": window.step, "buckets": window.buckets, "zone": window.zone,
                "tenant": window.tenant}
        stats = await tx.fetch_all("dashboard_anomaly_stats_24h")
        data.imports_24h = await tx.fetch_all("dashboard_import_stats_24h")
        recent = await tx.fetch_all("dashboard_recent_anomalies", limit=RECENT_ANOMALIES)
        data.outcomes = await tx.fetch_all("dashboard_import_outcomes", **span)
        window_start = data.outcomes[0]["bucket_start"]
        over_time = await tx.fetch_all("dashboard_anomalies_over_time", step=window.step,
                                       window_start=window_start, zone=window.zone,
                                       tenant=window.tenant)
        changes = await tx.fetch_all("dashboard_membership_changes",
                                     window_hours=window.days * 24, limit=BATCHES_CHARTED)

    folded = totals(stats)
    data.anomalies_24h = sum(folded["by_severity"].values())
    data.by_tenant = _ranked(folded["by_tenant"])
    data.by_type = _ranked(folded["by_type"], ANOMALY_TYPES)
    data.by_severity = _ranked(folded["by_severity"], SEVERITIES)

    data.recent_count = len(recent)
    for severity in SEVERITIES:
        data.recent[severity] = [row for row in recent if row["severity"] == severity]
    for row in recent:
        if row["severity"] not in SEVERITIES:
            data.recent.setdefault(row["severity"], []).append(row)

    index = {bucket: i for i, bucket in enumerate(data.buckets)}
    types = list(ANOMALY_TYPES) + sorted({r["anomaly_type"] for r in over_time}
                                         - set(ANOMALY_TYPES))
    data.anomalies_over_time = {t: [0] * len(index) for t in types}
    for row in over_time:
        i = index.get(row["bucket_start"])
        if i is not None:
            data.anomalies_over_time[row["anomaly_type"]][i] += row["anomalies"]

    if window.tenant is not None:
        changes = [row for row in changes if row["tenant_id"] == window.tenant]
    data.membership_changes = list(reversed(changes))
    return data
