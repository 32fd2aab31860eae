"""Problem groups (SPEC §10): every problem of one (tenant, anomaly type, unknown value), the
unit an operator works on — one misspelt partner is one cause however many projects carry it.

Listing and the group steps run as the caller (`fn_problem_groups_for_operator`,
`fn_problem_group_set_status`); a step acts on every problem of the group that can take it and
says, per problem, what it did or why it skipped it. `StepOutcome` rows are also what the
console's bulk action answers (`fn_problems_set_status_each`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projects_import.anomalies.manager import next_page, run_as_operator
from projects_import.anomalies.problems import ProblemFilter
from projects_import.db.connection import Database
from projects_import.errors import NotFound

# The fields of a group, in the order the API answers them: SPEC §10's, then ours.
GROUP_FIELDS = ("tenant_id", "anomaly_type", "severity", "unknown_value", "problems",
                "projects", "occurrences", "first_seen_at", "last_seen_at", "ack_due_at",
                "statuses", "resolve_due_at", "overdue", "group_id", "first_batch_id")
OUTCOME_FIELDS = ("id", "tenant_id", "project_key", "status_before", "status", "outcome",
                  "reason")
STEPS = {"acknowledge": "acknowledged", "resolve": "resolved"}


class ProblemGroupNotFound(NotFound):
    """No problem of that tenant, type and unknown value is visible to the caller."""


@dataclass(frozen=True)
class GroupKey:
    tenant_id: str
    anomaly_type: str
    unknown_value: str


def group(row: Mapping[str, Any]) -> dict[str, Any]:
    answer = {name: row[name] for name in GROUP_FIELDS}
    answer["occurrences"] = int(answer["occurrences"])
    return answer


def step_answer(status: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What a step did: how many problems changed, how many were skipped, and each one."""
    outcomes = [{name: row[name] for name in OUTCOME_FIELDS} for row in rows]
    changed = sum(1 for row in outcomes if row["outcome"] == status)
    return {"status": status, "changed": changed, "skipped": len(outcomes) - changed,
            "problems": outcomes}


class ProblemGroups:
    """Problem groups, read and acted on as the calling operator."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(self, claims: Mapping[str, Any], selection: ProblemFilter
                   ) -> tuple[list[dict[str, Any]], tuple[datetime, int] | None]:
        """Groups of the problems the filters match, most recently seen first: one page, and
        the keyset position (last_seen_at, group_id) of the next (None on the last page)."""
        rows = await run_as_operator(self.db, claims, "problem_groups_list",
                                     {**selection.params(), "limit": selection.limit + 1})
        rows = [{**row, "id": row["group_id"]} for row in rows]
        page, after = next_page(rows, selection.limit, "last_seen_at")
        return [group(row) for row in page], after

    async def set_status(self, claims: Mapping[str, Any], key: GroupKey, status: str,
                         note: str | None) -> dict[str, Any]:
        """Acknowledge or resolve every problem of the group that can take the step."""
        try:
            rows = await run_as_operator(self.db, claims, "problem_group_set_status",
                                         {"tenant_id": key.tenant_id,
                                          "anomaly_type": key.anomaly_type,
                                          "unknown_value": key.unknown_value,
                                          "status": status, "note": note})
        except NotFound as exc:
            raise ProblemGroupNotFound(exc.message) from exc
        return {"tenant_id": key.tenant_id, "anomaly_type": key.anomaly_type,
                "unknown_value": key.unknown_value, **step_answer(status, rows)}

    async def set_status_each(self, claims: Mapping[str, Any], ids: Sequence[int],
                              status: str, note: str | None) -> dict[str, Any]:
        """Acknowledge or resolve the given problems that can take the step."""
        rows = await run_as_operator(self.db, claims, "problems_set_status_each",
                                     {"ids": list(ids), "status": status, "note": note})
        return step_answer(status, rows)
