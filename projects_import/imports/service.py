"""Run a validated batch through PostgreSQL: stage, detect replays, merge (one transaction)."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from projects_import.db.connection import Database
from projects_import.db.queries import query
from projects_import.imports.contract import (
    CHECKSUM_VERSION,
    ContractError,
    ImportRequest,
    Violation,
    parse_payload,
)

METRIC_FIELDS = (
    "inserted_projects",
    "updated_projects",
    "unchanged_projects",
    "org_memberships_upserted",
    "user_memberships_upserted",
    "anomalies_count",
    "staging_id",
)


class ImportBusy(Exception):
    """Another import for the tenant holds the lock (HTTP 429)."""


class TenantPaused(Exception):
    """The tenant is quarantined (`tenant pause`): nothing is staged (HTTP 423)."""

    def __init__(self, tenant_id: str, reason: str, paused_at: str) -> None:
        with contextlib.suppress(ValueError):  # jsonb's ISO text, shown as "… UTC"
            moment = dt.datetime.fromisoformat(paused_at).astimezone(dt.UTC)
            paused_at = f"{moment:%Y-%m-%d %H:%M:%S} UTC"
        super().__init__(f"tenant {tenant_id} is paused since {paused_at}: {reason}")
        self.tenant_id = tenant_id
        self.reason = reason
        self.paused_at = paused_at


class BatchNotFound(Exception):
    """No staged batch with that id for that tenant."""


@dataclass
class ImportResult:
    batch_id: uuid.UUID
    correlation_id: uuid.UUID
    tenant_id: str
    replayed: bool
    metrics: dict[str, Any]
    merge_ms: float = field(default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": str(self.batch_id),
            "correlation_id": str(self.correlation_id),
            "tenant_id": self.tenant_id,
            "replayed": self.replayed,
            "metrics": self.metrics,
        }


def _public_metrics(raw: dict[str, Any]) -> dict[str, Any]:
    """The documented metrics first, then any extra figures the merge reported."""
    metrics = {name: raw.get(name, 0) for name in METRIC_FIELDS}
    metrics["staging_id"] = str(raw["staging_id"]) if raw.get("staging_id") else None
    metrics.update({k: v for k, v in raw.items() if k not in metrics})
    return metrics


class ImportService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def submit(self, request: ImportRequest) -> ImportResult:
        started = time.perf_counter()
        try:
            result = await self._submit(request)
        except psycopg.errors.DataError as exc:
            # values the contract check let through but PostgreSQL refuses: the caller's data
            raise ContractError([Violation(
                None, "rows", "invalid_value",
                f"a value cannot be stored: {exc.diag.message_primary or 'invalid data'}")]
            ) from exc
        merge_ms = (time.perf_counter() - started) * 1000
        outcome = result["outcome"]
        if outcome == "busy":
            raise ImportBusy(request.tenant_id)
        if outcome == "paused":
            raise TenantPaused(request.tenant_id, str(result.get("reason") or ""),
                               str(result.get("paused_at") or ""))
        if outcome == "batch_conflict":
            raise ContractError([Violation(
                None, "batch_id", "batch_conflict",
                f"batch_id {request.request_batch_id or request.batch_id} was already used "
                "for a different set of rows; send a new batch_id")])
        return ImportResult(
            batch_id=uuid.UUID(str(result["batch_id"])),
            correlation_id=request.correlation_id,
            tenant_id=request.tenant_id,
            replayed=outcome == "replayed",
            metrics=_public_metrics(result["metrics"]),
            merge_ms=merge_ms,
        )

    async def _submit(self, request: ImportRequest) -> dict[str, Any]:
        async with self.db.transaction() as conn:
            cur = await conn.execute(query("import_submit"), {
                "tenant_id": request.tenant_id,
                "source": request.source,
                "batch_id": request.batch_id,
                "batch_checksum": request.checksum,
                "checksum_version": CHECKSUM_VERSION,
                "raw": Jsonb(request.raw),
                "rows": Jsonb(request.rows),
                "correlation_id": request.correlation_id,
                "validation": Jsonb(request.validation),
            })
            row = await cur.fetchone()
        assert row is not None
        result: dict[str, Any] = row["result"]
        return result

    async def rerun(self, tenant_id: str, batch_id: uuid.UUID, *, max_rows: int) -> ImportResult:
        """Re-merge a staged batch's raw rows with today's directories (SPEC §5.6)."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(query("staging_get"),
                                     {"tenant_id": tenant_id, "batch_id": batch_id})
            staged = await cur.fetchone()
            if staged is None:
                raise BatchNotFound(f"no staged batch {batch_id} for tenant {tenant_id}")
            staged_rows = len(staged["raw"].get("rows") or [])
            request = parse_payload(staged["raw"], max_rows=max(max_rows, staged_rows))
            correlation_id = uuid.uuid4()
            cur = await conn.execute(query("batch_merge"), {
                "tenant_id": tenant_id, "source": staged["source"], "batch_id": batch_id,
                "rows": Jsonb(request.rows), "correlation_id": correlation_id})
            merged = await cur.fetchone()
        assert merged is not None
        return ImportResult(batch_id=batch_id, correlation_id=correlation_id, tenant_id=tenant_id,
                            replayed=False, metrics=_public_metrics(merged["metrics"]))
