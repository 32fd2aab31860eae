"""What a merged batch wrote, for its import's page: the projects it inserted, the projects it
last changed, and the memberships it started and ended, each list paged.

No table records this: a merge writes every change of one batch in one transaction, so the
projects it inserted carry that transaction's now() as `created_at`, and it stamps its batch
id on the projects it changes (`last_batch_id`) and on the memberships it starts (`batch_id`)
and ends (`ended_batch_id`). A batch merges at its staging, and again at a publish (a held
batch) and at each re-run, each in its own transaction: those times, all known to the page,
name the projects it inserted. A project a later batch changed again is listed under that
later batch only; old → new values are kept for held batches only (their diff).

Read under the signed-in user's claims (RLS: operators read projects and memberships).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams

from projects_import.db.connection import Database

PAGE_SIZE = 50
MAX_PAGE = 10**6
KINDS = {
    "inserted": "Projects it inserted",
    "changed": "Projects it last changed",
    "started": "Memberships it started",
    "ended": "Memberships it ended",
}


@dataclass(frozen=True)
class ChangeList:
    kind: str
    title: str
    rows: list[dict[str, Any]]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def merge_times(row: Mapping[str, Any]) -> list[datetime]:
    """The times a batch was merged at: its staging, its publish (held batches) and its
    re-runs (the import's row as `ImportHistory.get` answers it, parsed by the page)."""
    times = [row["staged_at"]] if isinstance(row.get("staged_at"), datetime) else []
    for decision in (row.get("batch") or {}).get("decisions") or []:
        if decision.get("decision") in ("published", "superseded"):
            times.extend(_time(decision.get("decided_at")))
    for run in row.get("reruns") or []:
        times.extend(_time(run.get("at")))
    return times


def _time(value: Any) -> list[datetime]:
    if isinstance(value, datetime):
        return [value]
    try:
        return [datetime.fromisoformat(value)] if isinstance(value, str) else []
    except ValueError:
        return []


def pages_asked(params: QueryParams) -> dict[str, int]:
    """The page of each list the query string asks for (`inserted=2`, …); 1 when absent
    or not a page number."""
    asked = {}
    for kind in KINDS:
        value = params.get(kind, "1")
        asked[kind] = int(value) if value.isdigit() and 0 < int(value) < MAX_PAGE else 1
    return asked


def change_query(pages: Mapping[str, int], kind: str, number: int) -> str:
    """The query string of a page link: `kind` at page `number`, the other lists where they
    are (pages past the first only)."""
    wanted = {**pages, kind: number}
    return str(QueryParams({k: str(v) for k, v in wanted.items() if v > 1}))


async def batch_changes(db: Database, claims: Mapping[str, Any], tenant_id: str,
                        batch_id: uuid.UUID | str | None, times: Iterable[datetime],
                        pages: Mapping[str, int]) -> list[ChangeList]:
    """One page of each list (none when no batch was staged)."""
    if batch_id is None:
        return []
    found = []
    at = list(times)
    async with db.user_transaction(claims, read_only=True) as tx:
        for kind, title in KINDS.items():
            page = pages.get(kind, 1)
            rows = await tx.fetch_all("console_batch_changes", kind=kind, tenant_id=tenant_id,
                                      batch_id=str(batch_id), times=at, limit=PAGE_SIZE,
                                      offset=(page - 1) * PAGE_SIZE)
            total = int(rows[0]["total"]) if rows else 0
            found.append(ChangeList(kind, title, rows, total, page))
    return found
