"""The runbook's post-deployment smoke test: a 3-row batch for a throwaway tenant through the
real merge, checking metrics, memberships, anomalies, replay and backfill, all in one
transaction that is rolled back, so it leaves nothing behind."""

from __future__ import annotations

import json
import secrets
from typing import Any

import psycopg

from projects_import.db.connection import Database, QuerySession
from projects_import.errors import ProjectsImportError
from projects_import.imports.contract import parse_payload
from projects_import.imports.service import submit_params
from projects_import.operations.verify import Checks

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



async def smoke(db: Database) -> Checks:
    """Run the smoke batch; one check per expectation."""
    checks = Checks()
    tenant_id = f"smoke-{secrets.token_hex(6)}"
    try:
        async with db.transaction(rollback=True) as tx:
            await _smoke(tx, tenant_id, checks)
    except ProjectsImportError as exc:
        checks.add("smoke batch ran to the end", False, exc.message)
    except psycopg.Error as exc:
        checks.add("smoke batch ran to the end", False,
                   exc.diag.message_primary or type(exc).__name__)
    return checks


async def _members(tx: QuerySession, tenant_id: str) -> set[tuple[str, ...]]:
    rows = await tx.fetch_all("project_members_of_tenant", tenant_id=tenant_id)
    return {(r["project_key"], r["member_type"], r["member"], r["role"]) for r in rows}


async def _anomalies(tx: QuerySession, tenant_id: str) -> set[tuple[str, ...]]:
    rows = await tx.fetch_all("anomalies_of_tenant", tenant_id=tenant_id)
    return {(r["project_key"], r["anomaly_type"], r["severity"], r["status"]) for r in rows}


def _differs(expected: dict[str, Any], actual: dict[str, Any]) -> str:
    wrong = [f"{k}={actual.get(k)!r} (expected {v!r})" for k, v in expected.items()
             if actual.get(k) != v]
    return ", ".join(wrong)


async def _smoke(tx: QuerySession, tenant_id: str, checks: Checks) -> None:
    await tx.execute("tenant_insert", tenant_id=tenant_id, timezone="UTC")
    await tx.execute("partners_upsert", tenant_id=tenant_id, aliases=["Smoke Partner"],
                     canonicals=["Smoke Partner Pty Ltd"])
    await tx.execute("ds_upsert", tenant_id=tenant_id, usernames=["smoke.ds"],
                     display_names=["Smoke DS"], actives=[True])
    await tx.execute("rm_upsert", tenant_id=tenant_id, usernames=["smoke.rm"],
                     display_names=["Smoke Manager"], actives=[True])

    request = parse_payload({"tenant_id": tenant_id, "source": "projects-import-smoke",
                             "batch_id": "smoke-batch-001", "rows": _SMOKE_ROWS}, max_rows=3)
    params = submit_params(request)
    first = await tx.fetch_value("import_submit", **params)
    metrics = first.get("metrics") or {}
    wrong = _differs(_SMOKE_METRICS, metrics)
    checks.add("3-row batch merged with the expected metrics",
               first.get("outcome") == "merged" and not wrong,
               wrong or json.dumps({k: metrics.get(k) for k in _SMOKE_METRICS}))

    members = await _members(tx, tenant_id)
    checks.add("memberships visible in vw_project_members", members == _SMOKE_MEMBERS,
               f"{len(members)} active (expected {len(_SMOKE_MEMBERS)})")
    anomalies = await _anomalies(tx, tenant_id)
    checks.add("anomalies recorded for the expected misses", anomalies == _SMOKE_ANOMALIES,
               ", ".join(sorted(f"{a[0]} {a[1]}" for a in anomalies)) or "none recorded")

    replay = await tx.fetch_value("import_submit", **params)
    same = (replay.get("outcome") == "replayed"
            and replay.get("batch_id") == first.get("batch_id")
            and str(replay.get("staging_id")) == str(first.get("staging_id"))
            and not _differs(_SMOKE_METRICS, replay.get("metrics") or {}))
    unchanged = (await _members(tx, tenant_id) == members
                 and await _anomalies(tx, tenant_id) == anomalies)
    checks.add("replay answers the memoized result and writes nothing", same and unchanged,
               f"outcome {replay.get('outcome')}")

    await tx.execute("ds_upsert", tenant_id=tenant_id, usernames=["smoke.missing"],
                     display_names=["Smoke DS 2"], actives=[True])
    counts = await tx.fetch_value("membership_backfill", tenant_id=tenant_id)
    expected = {"user_memberships_added": 1, "anomalies_resolved": 1, "memberships_ended": 0}
    wrong = _differs(expected, counts)
    checks.add("backfill after a directory fix adds the membership and resolves the anomaly",
               not wrong, wrong or "1 membership added, 1 anomaly resolved")
