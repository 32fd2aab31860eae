"""Problems: one record per real problem — a (tenant, project, anomaly type, unknown value) —
with every batch's miss as an occurrence (SPEC §9). What operators list, open, acknowledge
and resolve; the lifecycle and the SLA clocks live in SQL (`fn_problem_*`, migration 0012).

Every call runs as the caller (`user_transaction`), so the operator RPCs decide who may read
and write, and `fn_problem_set_status` records the caller's JWT `sub`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projects_import.anomalies.manager import (
    DEFAULT_LIMIT,
    ROW_FIELDS,
    StatusConflict,
    next_page,
    run_as_operator,
)
from projects_import.db.connection import Database
from projects_import.errors import Conflict, NotFound

# The fields of a problem, in the order the API answers them (SPEC §9).
PROBLEM_FIELDS = ("id", "tenant_id", "project_key", "anomaly_type", "severity", "unknown_value",
                  "status", "first_seen_at", "last_seen_at", "occurrences", "last_batch_id",
                  "payload_excerpt", "acknowledged_at", "acknowledged_by", "resolved_at",
                  "resolved_by", "resolution", "regressed", "ack_due_at", "resolve_due_at")
EVENT_FIELDS = ("at", "actor", "action", "resolution", "note")
DEFAULT_STATUSES = ("open",)
OCCURRENCES_SHOWN = 100


class ProblemNotFound(NotFound):
    """No problem with that id is visible to the caller."""


@dataclass(frozen=True)
class ProblemFilter:
    """Which problems to list (None: any). `after` is the keyset position (last_seen_at, id)
    a page starts after; `batch_ids` is resolved to UUIDs (empty: matches nothing)."""

    tenant: str | None = None
    anomaly_types: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = DEFAULT_STATUSES
    severities: tuple[str, ...] | None = None
    batch_ids: tuple[uuid.UUID, ...] | None = None
    project_key: str | None = None
    overdue: bool | None = None
    search: str | None = None
    limit: int = DEFAULT_LIMIT
    after: tuple[datetime, int] | None = None

    def params(self) -> dict[str, Any]:
        return {"tenant": self.tenant,
                "anomaly_type": list(self.anomaly_types) if self.anomaly_types else None,
                "status": list(self.statuses) if self.statuses else None,
                "severity": list(self.severities) if self.severities else None,
                "batch_id": list(self.batch_ids) if self.batch_ids is not None else None,
                "project_key": self.project_key, "overdue": self.overdue,
                "search": self.search, "limit": self.limit,
                "after_at": self.after[0] if self.after else None,
                "after_id": self.after[1] if self.after else None}


def problem(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in PROBLEM_FIELDS}


class ProblemManager:
    """Reads and lifecycle steps on problems, as the calling operator."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(self, claims: Mapping[str, Any], selection: ProblemFilter
                   ) -> tuple[list[dict[str, Any]], tuple[datetime, int] | None]:
        """Problems matching the filters, most recently seen first: one page, and the keyset
        position of the next (None on the last page)."""
        rows = await run_as_operator(self.db, claims, "problems_list",
                                     {**selection.params(), "limit": selection.limit + 1})
        page, after = next_page(rows, selection.limit, "last_seen_at")
        return [problem(row) for row in page], after

    async def get(self, claims: Mapping[str, Any], problem_id: int) -> dict[str, Any]:
        """One problem with its newest occurrences and its status history."""
        async with self.db.user_transaction(claims, read_only=True) as tx:
            try:
                rows = await tx.fetch_all("problem_get", problem_id=problem_id)
                occurrences = await tx.fetch_all("problem_occurrences", problem_id=problem_id,
                                                 limit=OCCURRENCES_SHOWN)
                events = await tx.fetch_all("problem_events", problem_id=problem_id)
            except NotFound as exc:
                raise ProblemNotFound(f"no problem with id {problem_id}") from exc
        if not rows:
            raise ProblemNotFound(f"no problem with id {problem_id}")
        answer = problem(rows[0])
        answer["occurrences_list"] = [{k: r[k] for k in ROW_FIELDS} for r in occurrences]
        answer["events"] = [{k: e[k] for k in EVENT_FIELDS} for e in events]
        return answer

    async def set_status(self, claims: Mapping[str, Any], problem_id: int, status: str,
                         note: str | None) -> dict[str, Any]:
        """Acknowledge or resolve a problem; the database records who (JWT `sub`) and when."""
        try:
            rows = await run_as_operator(self.db, claims, "problem_set_status",
                                         {"problem_id": problem_id, "status": status,
                                          "note": note})
        except NotFound as exc:
            raise ProblemNotFound(f"no problem with id {problem_id}") from exc
        except Conflict as exc:
            raise StatusConflict(exc.message) from exc
        return problem(rows[0])
