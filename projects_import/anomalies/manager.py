"""What operators read and do about import anomalies (SPEC §4.2, §5.4, §5.5).

Every call runs under `Database.user_transaction(claims)`: as the `authenticated` role with the
caller's JWT claims, so the operator RPCs and row-level security decide, in the database, who
may read. A non-operator is refused there even if a route forgot to check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from projects_import.db.connection import Database
from projects_import.errors import Conflict, Forbidden, InvalidInput, NotFound
from projects_import.vocabulary import SEVERITIES

__all__ = ["SEVERITIES", "AnomalyFilter", "AnomalyManager", "AnomalyNotFound",
           "InvalidSelection", "NotOperator", "StatusConflict", "totals"]

MAX_WINDOW_HOURS = 8760
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

# The fields of a listed anomaly, in the order GET /anomalies answers them.
ROW_FIELDS = ("id", "tenant_id", "batch_id", "row_index", "project_key", "anomaly_type",
              "severity", "payload_excerpt", "correlation_id", "created_at", "status",
              "acknowledged_at", "acknowledged_by", "resolved_at")
STATS_FIELDS = ("tenant_id", "anomaly_type", "severity", "count", "unresolved", "last_seen_at")


class NotOperator(Forbidden):
    """The database refused the caller: its claims do not say operator or admin (42501)."""


class AnomalyNotFound(NotFound):
    """No anomaly with that id is visible to the caller."""


class InvalidSelection(InvalidInput):
    """The database refused a parameter (22023), e.g. a window that is not positive."""

    code = "invalid_parameters"


class StatusConflict(Conflict):
    """The anomaly's current status does not allow that step (e.g. acknowledging a resolved one)."""

    code = "status_conflict"


@dataclass(frozen=True)
class AnomalyFilter:
    """Which anomalies to read: the last `window_hours`, optionally one tenant and some
    severities. `limit` bounds a listing (None: all of the window)."""

    window_hours: int = 24
    tenant: str | None = None
    severities: tuple[str, ...] | None = None
    limit: int | None = DEFAULT_LIMIT

    def params(self) -> dict[str, Any]:
        return {"window_hours": self.window_hours, "tenant": self.tenant,
                "severity": list(self.severities) if self.severities else None,
                "limit": self.limit}


class AnomalyManager:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _run(self, claims: Mapping[str, Any], name: str,
                   params: Mapping[str, Any]) -> list[dict[str, Any]]:
        async with self.db.user_transaction(claims) as tx:
            # Only the query's refusal means "not an operator"; failing to take the
            # `authenticated` role at all is a deployment fault and surfaces as one.
            try:
                return await tx.fetch_all(name, **params)
            except Forbidden as exc:
                raise NotOperator("operator or admin role required (refused by the database)"
                                  ) from exc
            except InvalidInput as exc:
                raise InvalidSelection(exc.message) from exc

    async def recent(self, claims: Mapping[str, Any],
                     selection: AnomalyFilter) -> list[dict[str, Any]]:
        """The newest anomalies of the window, newest first."""
        return await self._run(claims, "anomalies_list", selection.params())

    async def stats(self, claims: Mapping[str, Any],
                    selection: AnomalyFilter) -> list[dict[str, Any]]:
        """Counts by tenant, anomaly_type and severity over the window."""
        return await self._run(claims, "anomalies_stats", selection.params())

    async def set_status(self, claims: Mapping[str, Any], anomaly_id: int,
                         status: str) -> dict[str, Any]:
        """Acknowledge or resolve one anomaly; the database records who (JWT `sub`) and when."""
        try:
            rows = await self._run(claims, "anomaly_set_status",
                                   {"anomaly_id": anomaly_id, "status": status})
        except NotFound as exc:
            raise AnomalyNotFound(f"no anomaly with id {anomaly_id}") from exc
        except Conflict as exc:
            raise StatusConflict(exc.message) from exc
        return rows[0]


def totals(stats: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Stats rows folded into counts by type, by severity and by tenant."""
    by_type: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    by_tenant: dict[str, int] = {}
    for row in stats:
        count = int(row["count"])
        by_type[row["anomaly_type"]] = by_type.get(row["anomaly_type"], 0) + count
        by_severity[row["severity"]] = by_severity.get(row["severity"], 0) + count
        by_tenant[row["tenant_id"]] = by_tenant.get(row["tenant_id"], 0) + count
    return {"by_type": by_type, "by_severity": by_severity, "by_tenant": by_tenant}
