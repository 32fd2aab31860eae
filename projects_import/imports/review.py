"""Held batches (SPEC §10 "Held batches"): preview, publish or reject a batch that its audit
held back (migration 0037).

A held batch stays in staging_imports with the rows as received. Publishing parses them as a
rerun does and has `fn_import_batch_publish` merge every row that no batch staged after it
has since merged (those are skipped: the batch is then `superseded`); the diff runs the same
publish in a savepoint that is rolled back, so it shows exactly what publishing would change
while nothing else changes meanwhile. Every decision names its actor (the JWT's `sub`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from projects_import.db.connection import Database, QuerySession
from projects_import.errors import Conflict, NotFound
from projects_import.imports.contract import parse_payload

DIFF_PAGE = 50


class HeldBatchNotFound(NotFound):
    """No import request with that id, or nothing was staged by it."""


class NotHeld(Conflict):
    """The batch is not held (already published, rejected, or never held): 409."""

    code = "batch_not_held"


@dataclass(frozen=True)
class BatchRef:
    tenant_id: str
    batch_id: uuid.UUID


def actor_of(claims: Mapping[str, Any]) -> str:
    """Who decides: the JWT's `sub` (an identifier, never a name from the payload)."""
    return str(claims.get("sub") or "unknown")[:256]


class BatchReview:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _ref(self, tx: QuerySession, import_id: int) -> BatchRef:
        row = await tx.fetch_one("import_request_batch", id=import_id)
        if row is None or row["staging_id"] is None or row["batch_id"] is None:
            raise HeldBatchNotFound(f"import request {import_id} staged no batch")
        return BatchRef(row["tenant_id"], uuid.UUID(str(row["batch_id"])))

    async def _rows(self, tx: QuerySession, ref: BatchRef) -> Jsonb:
        staged = await tx.fetch_one("staging_get", tenant_id=ref.tenant_id,
                                    batch_id=ref.batch_id)
        if staged is None:
            raise HeldBatchNotFound(f"no staged batch {ref.batch_id}")
        if staged["batch_state"] != "held":
            raise NotHeld(f"batch {ref.batch_id} is {staged['batch_state']}, not held")
        rows = staged["raw"].get("rows") or []
        request = parse_payload(staged["raw"], max_rows=max(len(rows), 1))
        return Jsonb(request.rows)

    async def publish(self, import_id: int, actor: str) -> dict[str, Any]:
        """Merge the held batch of an import request (except rows a later batch overtook)."""
        async with self.db.transaction() as tx:
            ref = await self._ref(tx, import_id)
            rows = await self._rows(tx, ref)
            result: dict[str, Any] = await tx.fetch_value(
                "batch_publish", tenant_id=ref.tenant_id, batch_id=ref.batch_id, rows=rows,
                actor=actor)
        return result

    async def reject(self, import_id: int, reason: str, actor: str) -> dict[str, Any]:
        """Discard the held batch of an import request; a re-send then answers 422."""
        async with self.db.transaction() as tx:
            ref = await self._ref(tx, import_id)
            await self._rows(tx, ref)  # 409 when it is not held
            result: dict[str, Any] = await tx.fetch_value(
                "batch_reject", tenant_id=ref.tenant_id, batch_id=ref.batch_id,
                reason=reason, actor=actor)
        return result

    async def diff(self, import_id: int, *, page: int = 1,
                   per_page: int = DIFF_PAGE) -> dict[str, Any]:
        """What publishing would change: counts, and one page of projects (old → new)."""
        async with self.db.transaction(rollback=True) as tx:
            ref = await self._ref(tx, import_id)
            rows = await self._rows(tx, ref)
            diff: dict[str, Any] = await tx.fetch_value(
                "batch_diff", tenant_id=ref.tenant_id, batch_id=ref.batch_id, rows=rows)
        projects = diff.pop("projects")
        start = (page - 1) * per_page
        diff.update(page=page, per_page=per_page, pages=max(1, -(-len(projects) // per_page)),
                    projects=projects[start:start + per_page])
        return diff
