"""What operators read and do about import anomalies (SPEC §4.2, §5.4, §5.5).

Every call runs under `Database.user_transaction(claims)`: as the `authenticated` role with the
caller's JWT claims, so the operator RPCs and row-level security decide, in the database, who
may read. A non-operator is refused there even if a route forgot to check.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projects_import.db.connection import Database
from projects_import.errors import Conflict, Forbidden, InvalidInput, NotFound
from projects_import.imports.contract import identifier_uuid
from projects_import.vocabulary import SEVERITIES

__all__ = ["SEVERITIES", "AnomalyFilter", "AnomalyManager", "AnomalyNotFound",
           "InvalidSelection", "NotOperator", "StatusConflict", "totals"]

MAX_WINDOW_HOURS = 8760
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

# The fields of a listed anomaly (an occurrence), in the order GET /anomalies answers them.
ROW_FIELDS = ("id", "tenant_id", "batch_id", "row_index", "project_key", "anomaly_type",
              "severity", "payload_excerpt", "correlation_id", "created_at", "status",
              "acknowledged_at", "acknowledged_by", "resolved_at", "problem_id")
# count/unresolved/last_seen_at: the window's occurrences (SPEC §4.2); the rest: problems,
# never counting resolved ones (open, acknowledged, new in the window, past an SLA clock).
STATS_FIELDS = ("tenant_id", "anomaly_type", "severity", "count", "unresolved", "last_seen_at",
                "open_problems", "acknowledged_problems", "new_problems", "occurrences",
                "overdue_ack", "overdue_resolve")


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
    """Which anomalies to read: the last `window_hours`, optionally narrowed by tenant,
    severities, anomaly types, statuses, batches and project. `limit` bounds a listing (None:
    all of the window); `after` is the keyset position (created_at, id) a page starts after.
    `batch_ids` is already resolved to UUIDs (an empty tuple matches nothing)."""

    window_hours: int = 24
    tenant: str | None = None
    severities: tuple[str, ...] | None = None
    limit: int | None = DEFAULT_LIMIT
    anomaly_types: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    batch_ids: tuple[uuid.UUID, ...] | None = None
    project_key: str | None = None
    after: tuple[datetime, int] | None = None

    def params(self) -> dict[str, Any]:
        return {"window_hours": self.window_hours, "tenant": self.tenant,
                "severity": list(self.severities) if self.severities else None,
                "limit": self.limit,
                "anomaly_type": list(self.anomaly_types) if self.anomaly_types else None,
                "status": list(self.statuses) if self.statuses else None,
                "batch_id": list(self.batch_ids) if self.batch_ids is not None else None,
                "project_key": self.project_key,
                "after_at": self.after[0] if self.after else None,
                "after_id": self.after[1] if self.after else None}


async def run_as_operator(db: Database, claims: Mapping[str, Any], name: str,
                          params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One named query as the caller, its refusals as domain errors."""
    async with db.user_transaction(claims) as tx:
        # Only the query's refusal means "not an operator"; failing to take the
        # `authenticated` role at all is a deployment fault and surfaces as one.
        try:
            return await tx.fetch_all(name, **params)
        except Forbidden as exc:
            raise NotOperator("operator or admin role required (refused by the database)"
                              ) from exc
        except InvalidInput as exc:
            raise InvalidSelection(exc.message) from exc


class AnomalyManager:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _run(self, claims: Mapping[str, Any], name: str,
                   params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await run_as_operator(self.db, claims, name, params)

    async def recent(self, claims: Mapping[str, Any],
                     selection: AnomalyFilter) -> list[dict[str, Any]]:
        """The newest anomalies of the window, newest first."""
        return await self._run(claims, "anomalies_list", selection.params())

    async def page(self, claims: Mapping[str, Any], selection: AnomalyFilter
                   ) -> tuple[list[dict[str, Any]], tuple[datetime, int] | None]:
        """One page of `recent`, and the keyset position of the next page (None: last)."""
        limit = selection.limit or DEFAULT_LIMIT
        rows = await self._run(claims, "anomalies_list",
                               {**selection.params(), "limit": limit + 1})
        return next_page(rows, limit, "created_at")

    async def batch_ids(self, request_batch_id: str, tenant: str | None) -> list[uuid.UUID]:
        """The batch UUIDs an upstream batch_id string names (the batch-id rule for a given
        tenant; without one, the staged batches that recorded that string)."""
        text = request_batch_id.strip()
        if tenant is not None:
            return [identifier_uuid(tenant, text)]
        try:
            return [uuid.UUID(text)]
        except ValueError:
            pass
        # not through RLS: only batch ids are read, never a staged payload
        rows = await self.db.fetch_all("batch_ids_of_request", request_batch_id=text,
                                       tenant=None)
        return [row["batch_id"] for row in rows]

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


def next_page(rows: list[dict[str, Any]], limit: int, at: str
              ) -> tuple[list[dict[str, Any]], tuple[datetime, int] | None]:
    """Rows read with `limit + 1`: the page, and where the next one starts when there is one."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, (page[-1][at], int(page[-1]["id"]))


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
