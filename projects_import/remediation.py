"""Remediation and retention (SPEC §5.6, §5.7) and the runbook's verification and smoke checks.

One manager over named queries, shared by the CLI verbs and the scheduler. The data work is in
PL/pgSQL (`fn_projects_membership_backfill`, `fn_cleanup_import_data`); this module adds what
SQL alone cannot: committing between cleanup chunks, the single-runner lock, and the checks.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from projects_import.db import migrations
from projects_import.db.connection import AsyncConn, Database
from projects_import.db.queries import query
from projects_import.imports.contract import CHECKSUM_VERSION, parse_payload

RETENTION_JOB = "imports-anomalies-retention"
DEFAULT_IMPORTS_DAYS = 60
DEFAULT_ANOMALIES_DAYS = 90
DEFAULT_CHUNK_SIZE = 5000
BACKFILL_COUNTS = (
    "projects_updated", "org_memberships_added", "user_memberships_added",
    "org_memberships_ended", "user_memberships_ended", "memberships_ended",
    "anomalies_resolved",
)

TABLES = (
    "tenants", "tenant_secrets", "partner_normalization", "ds_directory", "rm_directory",
    "organizations", "projects", "project_org_memberships", "project_user_memberships",
    "staging_imports", "import_anomalies", "import_retention_stats",
)
VIEWS = ("vw_project_members", "vw_import_anomalies_recent", "vw_import_anomalies_stats_24h")
FUNCTIONS = (
    "fn_projects_import_merge", "fn_projects_membership_backfill", "fn_cleanup_import_data",
    "fn_anomalies_for_operator", "fn_anomalies_stats",
)


class RemediationError(Exception):
    """A remediation request that cannot be done, with a message fit for the operator."""


@dataclass
class CleanupResult:
    staging_imports_deleted: int = 0
    import_anomalies_deleted: int = 0
    chunks: int = 0
    complete: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "staging_imports_deleted": self.staging_imports_deleted,
            "import_anomalies_deleted": self.import_anomalies_deleted,
            "chunks": self.chunks,
            "complete": self.complete,
        }


@dataclass
class RetentionRun:
    """One scheduled retention run: `ran`, or skipped because of `locked` / `pg_cron`."""

    outcome: str
    cleanup: CleanupResult | None = None


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Checks:
    items: list[Check] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.items.append(Check(name, ok, detail))
        return ok

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)


class Remediation:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def backfill(self, tenant_id: str | None = None) -> dict[str, int]:
        """Bring projects and memberships in line with today's directories (all tenants)."""
        try:
            async with self.db.transaction() as conn:
                cur = await conn.execute(query("membership_backfill"), {"tenant_id": tenant_id})
                row = await cur.fetchone()
        except psycopg.errors.InvalidParameterValue as exc:
            raise RemediationError(f"unknown tenant {tenant_id}") from exc
        assert row is not None
        counts: dict[str, int] = row["counts"]
        ordered = {name: counts[name] for name in BACKFILL_COUNTS if name in counts}
        return {**ordered, **counts}

    async def cleanup(
        self,
        imports_days: int = DEFAULT_IMPORTS_DAYS,
        anomalies_days: int = DEFAULT_ANOMALIES_DAYS,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        should_stop: Callable[[], bool] | None = None,
    ) -> CleanupResult:
        """Run retention, one committed chunk at a time, until nothing is due."""
        if imports_days < 0 or anomalies_days < 0:
            raise RemediationError("retention days must be 0 or more")
        if chunk_size < 1:
            raise RemediationError("the chunk size must be 1 or more")
        async with self.db.pool.connection() as conn:
            result = await _cleanup_chunks(conn, imports_days, anomalies_days, chunk_size,
                                           should_stop)
        assert result is not None  # only a run `as_runner` can find the lock taken
        return result

    async def retention_job(
        self,
        imports_days: int = DEFAULT_IMPORTS_DAYS,
        anomalies_days: int = DEFAULT_ANOMALIES_DAYS,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        should_stop: Callable[[], bool] | None = None,
    ) -> RetentionRun:
        """The daily job: one runner across replicas (a transaction-scoped advisory lock per
        chunk), and none when pg_cron already runs `imports-anomalies-retention` here."""
        async with self.db.pool.connection() as conn:
            if await _cron_job(conn) is not None:
                return RetentionRun("pg_cron")
            result = await _cleanup_chunks(conn, imports_days, anomalies_days, chunk_size,
                                           should_stop, as_runner=True)
            if result is None:
                return RetentionRun("locked")
            return RetentionRun("ran", result)

    async def verify(self) -> Checks:
        """The runbook's verification: migrations, objects, RLS, and the RPC's refusal."""
        checks = Checks()
        async with self.db.pool.connection() as conn:
            await _check_migrations(conn, checks)
            await _check_relations(conn, checks)
            cur = await conn.execute(query("verify_functions"), {"names": list(FUNCTIONS)})
            missing = [r["name"] for r in await cur.fetchall() if not r["present"]]
            checks.add("functions present", not missing,
                       f"missing: {', '.join(missing)}" if missing else f"{len(FUNCTIONS)} found")
            cur = await conn.execute(query("verify_checksum_unique"))
            row = await cur.fetchone()
            checks.add("unique (tenant_id, batch_checksum) on staging_imports",
                       bool(row and row["present"]))
            job = await _cron_job(conn)
        await self._check_rpc(checks)
        checks.add("retention schedule", True,
                   f"pg_cron job {RETENTION_JOB} ({job['schedule']})" if job
                   else "the service's scheduler, daily at 03:10 UTC; no pg_cron job")
        return checks

    async def _check_rpc(self, checks: Checks) -> None:
        probe = query("verify_anomalies_rpc")
        refused = ""
        try:
            async with self.db.user_transaction(_claims("viewer")) as conn:
                await conn.execute(probe)
        except psycopg.errors.InsufficientPrivilege:
            refused = "refused"
        except psycopg.Error as exc:
            refused = f"error: {exc.diag.message_primary or type(exc).__name__}"
        checks.add("fn_anomalies_for_operator refuses a non-operator", refused == "refused",
                   refused or "a viewer was answered")
        try:
            async with self.db.user_transaction(_claims("operator")) as conn:
                await conn.execute(probe)
            allowed = ""
        except psycopg.Error as exc:
            allowed = exc.diag.message_primary or type(exc).__name__
        checks.add("fn_anomalies_for_operator answers an operator", not allowed, allowed)

    async def smoke(self) -> Checks:
        """The runbook's post-deployment smoke test: a 3-row batch for a throwaway tenant through
        the real merge; checks metrics, memberships, anomalies, replay and backfill. Runs in one
        transaction that is rolled back, so it leaves nothing behind."""
        checks = Checks()
        tenant_id = f"smoke-{secrets.token_hex(6)}"
        try:
            async with (self.db.pool.connection() as conn,
                        conn.transaction(force_rollback=True)):
                await _smoke(conn, tenant_id, checks)
        except psycopg.Error as exc:
            checks.add("smoke batch ran to the end", False,
                       exc.diag.message_primary or type(exc).__name__)
        return checks


def _claims(role: str) -> dict[str, Any]:
    return {"sub": "projects-import-verify", "role": "authenticated",
            "app_metadata": {"role": role}}


async def _cron_job(conn: AsyncConn) -> dict[str, Any] | None:
    cur = await conn.execute(query("retention_cron_job"))
    row = await cur.fetchone()
    job: dict[str, Any] | None = row["job"] if row else None
    return job


async def _cleanup_chunks(
    conn: AsyncConn,
    imports_days: int,
    anomalies_days: int,
    chunk_size: int,
    should_stop: Callable[[], bool] | None,
    *,
    as_runner: bool = False,
) -> CleanupResult | None:
    """One chunk per call of fn_cleanup_import_data, each its own transaction (autocommit).

    `as_runner`: each chunk first takes the job's transaction-scoped lock (no session state, so
    this works through a transaction-mode pooler). None when another replica held it before
    the first chunk; when one takes it between chunks, it runs to the end and this run stops."""
    total = CleanupResult()
    name = "retention_chunk_as_runner" if as_runner else "cleanup_import_data"
    while not total.complete:
        if should_stop is not None and should_stop():
            break
        cur = await conn.execute(query(name), {
            "imports_days": imports_days, "anomalies_days": anomalies_days,
            "chunk_size": chunk_size, "max_chunks": 1})
        row = await cur.fetchone()
        assert row is not None
        counts = row["counts"]
        if counts is None:
            return None if total.chunks == 0 else total
        total.staging_imports_deleted += int(counts["staging_imports_deleted"])
        total.import_anomalies_deleted += int(counts["import_anomalies_deleted"])
        total.chunks += int(counts["chunks"])
        total.complete = bool(counts["complete"])
    return total


async def _check_migrations(conn: AsyncConn, checks: Checks) -> None:
    cur = await conn.execute(query("migrations_applied"))
    applied = {r["version"]: r["checksum"] for r in await cur.fetchall()}
    known = {m.version: m for m in migrations.available()}
    pending = [v for v in known if v not in applied]
    changed = [v for v, m in known.items() if v in applied and applied[v] != m.checksum]
    unknown = [v for v in applied if v not in known]
    problems = [f"{label}: {', '.join(sorted(items))}" for label, items in
                (("pending", pending), ("changed after applying", changed),
                 ("unknown to this version", unknown)) if items]
    checks.add("migrations current", not problems,
               "; ".join(problems) if problems else f"{len(applied)} applied")


async def _check_relations(conn: AsyncConn, checks: Checks) -> None:
    names = list(TABLES + VIEWS)
    cur = await conn.execute(query("verify_relations"), {"names": names})
    found = {r["name"]: r for r in await cur.fetchall()}
    missing = [t for t in TABLES if found[t]["kind"] not in ("r", "p")]
    checks.add("tables present", not missing,
               f"missing: {', '.join(missing)}" if missing else f"{len(TABLES)} found")
    missing = [v for v in VIEWS if found[v]["kind"] != "v"]
    checks.add("views present", not missing,
               f"missing: {', '.join(missing)}" if missing else f"{len(VIEWS)} found")
    without = [t for t in TABLES if found[t]["kind"] and not found[t]["rls"]]
    checks.add("row-level security on", not without,
               f"off on: {', '.join(without)}" if without else f"{len(TABLES)} tables")


_SMOKE_ROWS = [
    {"stage_application": "SMOKE-001", "delivery_partner": "Smoke Partner",
     "developer_class": "Class 1", "relationship_manager": "Smoke Manager",
     "deployment_specialist": "smoke.ds", "residential": "3", "commercial": "1",
     "essential": "", "stage_application_created": "2025-01-01"},
    {"stage_application": "SMOKE-002", "delivery_partner": "Smoke Partner",
     "developer_class": "Class 1", "relationship_manager": "Smoke Manager",
     "deployment_specialist": "smoke.missing", "residential": "2", "commercial": "0",
     "essential": "1", "stage_application_created": "2025-01-02"},
    {"stage_application": "SMOKE-003", "delivery_partner": "Unlisted Partner",
     "developer_class": "Class 2", "relationship_manager": "",
     "rm_preferred_username": "smoke.rm", "deployment_specialist": "smoke.ds",
     "residential": "", "commercial": "4", "essential": "0",
     "stage_application_created": ""},
]
_SMOKE_MEMBERS = {
    ("SMOKE-001", "org", "Smoke Partner Pty Ltd", "delivery_partner"),
    ("SMOKE-001", "user", "smoke.ds", "deployment_specialist"),
    ("SMOKE-001", "user", "smoke.rm", "relationship_manager"),
    ("SMOKE-002", "org", "Smoke Partner Pty Ltd", "delivery_partner"),
    ("SMOKE-002", "user", "smoke.rm", "relationship_manager"),
    ("SMOKE-003", "user", "smoke.ds", "deployment_specialist"),
    ("SMOKE-003", "user", "smoke.rm", "relationship_manager"),
}
_SMOKE_ANOMALIES = {
    ("SMOKE-002", "UNKNOWN_DS", "error", "open"),
    ("SMOKE-003", "UNKNOWN_DELIVERY_PARTNER", "warning", "open"),
}
_SMOKE_METRICS = {"inserted_projects": 3, "updated_projects": 0, "unchanged_projects": 0,
                  "org_memberships_upserted": 2, "user_memberships_upserted": 5,
                  "anomalies_count": 2}


async def _one(conn: AsyncConn, name: str, params: dict[str, Any]) -> dict[str, Any]:
    cur = await conn.execute(query(name), params)
    row = await cur.fetchone()
    assert row is not None
    return row


async def _members(conn: AsyncConn, tenant_id: str) -> set[tuple[str, ...]]:
    cur = await conn.execute(query("project_members_of_tenant"), {"tenant_id": tenant_id})
    return {(r["project_key"], r["member_type"], r["member"], r["role"])
            for r in await cur.fetchall()}


async def _anomalies(conn: AsyncConn, tenant_id: str) -> set[tuple[str, ...]]:
    cur = await conn.execute(query("anomalies_of_tenant"), {"tenant_id": tenant_id})
    return {(r["project_key"], r["anomaly_type"], r["severity"], r["status"])
            for r in await cur.fetchall()}


def _differs(expected: dict[str, Any], actual: dict[str, Any]) -> str:
    wrong = [f"{k}={actual.get(k)!r} (expected {v!r})" for k, v in expected.items()
             if actual.get(k) != v]
    return ", ".join(wrong)


async def _smoke(conn: AsyncConn, tenant_id: str, checks: Checks) -> None:
    await conn.execute(query("tenant_insert"), {"tenant_id": tenant_id, "timezone": "UTC"})
    await conn.execute(query("partners_upsert"), {
        "tenant_id": tenant_id, "aliases": ["Smoke Partner"],
        "canonicals": ["Smoke Partner Pty Ltd"]})
    await conn.execute(query("ds_upsert"), {
        "tenant_id": tenant_id, "usernames": ["smoke.ds"], "display_names": ["Smoke DS"],
        "actives": [True]})
    await conn.execute(query("rm_upsert"), {
        "tenant_id": tenant_id, "usernames": ["smoke.rm"], "display_names": ["Smoke Manager"],
        "actives": [True]})

    request = parse_payload({"tenant_id": tenant_id, "source": "projects-import-smoke",
                             "batch_id": "smoke-batch-001", "rows": _SMOKE_ROWS}, max_rows=3)
    params = {
        "tenant_id": tenant_id, "source": request.source, "batch_id": request.batch_id,
        "batch_checksum": request.checksum, "checksum_version": CHECKSUM_VERSION,
        "raw": Jsonb(request.raw), "rows": Jsonb(request.rows),
        "correlation_id": request.correlation_id, "validation": Jsonb(request.validation)}
    first = (await _one(conn, "import_submit", params))["result"]
    metrics = first.get("metrics") or {}
    wrong = _differs(_SMOKE_METRICS, metrics)
    checks.add("3-row batch merged with the expected metrics",
               first.get("outcome") == "merged" and not wrong,
               wrong or json.dumps({k: metrics.get(k) for k in _SMOKE_METRICS}))

    members = await _members(conn, tenant_id)
    checks.add("memberships visible in vw_project_members", members == _SMOKE_MEMBERS,
               f"{len(members)} active (expected {len(_SMOKE_MEMBERS)})")
    anomalies = await _anomalies(conn, tenant_id)
    checks.add("anomalies recorded for the expected misses", anomalies == _SMOKE_ANOMALIES,
               ", ".join(sorted(f"{a[0]} {a[1]}" for a in anomalies)) or "none recorded")

    replay = (await _one(conn, "import_submit", params))["result"]
    same = (replay.get("outcome") == "replayed"
            and replay.get("batch_id") == first.get("batch_id")
            and str(replay.get("staging_id")) == str(first.get("staging_id"))
            and not _differs(_SMOKE_METRICS, replay.get("metrics") or {}))
    unchanged = (await _members(conn, tenant_id) == members
                 and await _anomalies(conn, tenant_id) == anomalies)
    checks.add("replay answers the memoized result and writes nothing", same and unchanged,
               f"outcome {replay.get('outcome')}")

    await conn.execute(query("ds_upsert"), {
        "tenant_id": tenant_id, "usernames": ["smoke.missing"], "display_names": ["Smoke DS 2"],
        "actives": [True]})
    counts = (await _one(conn, "membership_backfill", {"tenant_id": tenant_id}))["counts"]
    expected = {"user_memberships_added": 1, "anomalies_resolved": 1, "memberships_ended": 0}
    wrong = _differs(expected, counts)
    checks.add("backfill after a directory fix adds the membership and resolves the anomaly",
               not wrong, wrong or "1 membership added, 1 anomaly resolved")
