"""The runbook's verification: migrations current, the expected tables, views and functions,
row-level security, the batch identity (replays), the operator RPC's refusal, and who runs
retention."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from projects_import.auth import claims_for
from projects_import.db import migrations, snapshot
from projects_import.db.connection import Database, QuerySession
from projects_import.errors import Forbidden, ProjectsImportError
from projects_import.operations.retention import cron_job
from projects_import.vocabulary import RETENTION_JOB

# What this release's migrations build (`sql/schema.sql`): every table, view and function of
# `public` is expected, and row-level security on every table the snapshot has it on.
EXPECTED = snapshot.objects()
TABLES = tuple(EXPECTED.tables)
VIEWS = EXPECTED.views
FUNCTIONS = EXPECTED.functions
_PROBE_SUBJECT = "projects-import-verify"


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


def _found(missing: list[str], total: int, noun: str = "found") -> str:
    return f"missing: {', '.join(missing)}" if missing else f"{total} {noun}"


async def verify(db: Database) -> Checks:
    """Every check, in the runbook's order."""
    checks = Checks()
    status = await migrations.status(db)
    checks.add("migrations current", status.current,
               status.problems() or f"{len(status.applied)} applied")
    async with db.session() as session:
        await _check_relations(session, checks)
        rows = await session.fetch_all("verify_functions", names=list(FUNCTIONS))
        missing = [r["name"] for r in rows if not r["present"]]
        checks.add("functions present", not missing, _found(missing, len(FUNCTIONS)))
        identity = await session.fetch_value("verify_batch_identity")
        checks.add("batch identity on staging_imports (unique (tenant_id, batch_id), "
                   "batch_checksum indexed, not unique)", bool(identity))
        job = await cron_job(session)
    await _check_rpc(db, checks)
    checks.add("retention schedule", True,
               f"pg_cron job {RETENTION_JOB} ({job['schedule']})" if job
               else "the service's scheduler, daily at 03:10 UTC; no pg_cron job")
    return checks


async def _check_relations(session: QuerySession, checks: Checks) -> None:
    found = {r["name"]: r for r in await session.fetch_all("verify_relations",
                                                           names=list(TABLES + VIEWS))}
    missing = [t for t in TABLES if found[t]["kind"] not in ("r", "p")]
    checks.add("tables present", not missing, _found(missing, len(TABLES)))
    missing = [v for v in VIEWS if found[v]["kind"] != "v"]
    checks.add("views present", not missing, _found(missing, len(VIEWS)))
    without = [t for t in TABLES
               if EXPECTED.tables[t] and found[t]["kind"] and not found[t]["rls"]]
    checks.add("row-level security on", not without,
               f"off on: {', '.join(without)}" if without else f"{len(TABLES)} tables")


async def _probe(db: Database, role: str) -> str:
    """'' when the operator RPC answers a caller of `role`, else why it did not."""
    try:
        async with db.user_transaction(claims_for(_PROBE_SUBJECT, role)) as tx:
            await tx.execute("verify_anomalies_rpc")
    except Forbidden:
        return "refused"
    except ProjectsImportError as exc:
        return f"error: {exc.message}"
    except psycopg.Error as exc:
        return f"error: {exc.diag.message_primary or type(exc).__name__}"
    return ""


async def _check_rpc(db: Database, checks: Checks) -> None:
    refused = await _probe(db, "viewer")
    checks.add("fn_anomalies_for_operator refuses a non-operator", refused == "refused",
               refused or "a viewer was answered")
    allowed = await _probe(db, "operator")
    checks.add("fn_anomalies_for_operator answers an operator", not allowed, allowed)


__all__ = ["Check", "Checks", "verify"]
