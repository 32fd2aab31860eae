"""Operations verbs: backfill, rerun, cleanup, verify, smoke (SPEC §3, §5.6-5.7)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, TypeVar

import typer

from projects_import.cli import runtime
from projects_import.db.connection import Database
from projects_import.imports.contract import identifier_uuid
from projects_import.imports.service import ImportService
from projects_import.operations.backfill import backfill as run_backfill
from projects_import.operations.retention import (
    DEFAULT_ANOMALIES_DAYS,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_IMPORTS_DAYS,
    Retention,
)
from projects_import.operations.smoke import smoke as run_smoke
from projects_import.operations.verify import Checks
from projects_import.operations.verify import verify as run_verify

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the counts as one JSON object.")]


def _run(work: Callable[[Database], Awaitable[T]]) -> T:
    return runtime.run(runtime.settings(), work)


def _print_counts(title: str, counts: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(dict(counts), default=str))
        return
    print(title)
    for name, value in counts.items():
        shown = str(value).lower() if isinstance(value, bool) else value
        print(f"  {name}: {shown}")


def _print_checks(title: str, checks: Checks) -> None:
    for check in checks.items:
        detail = f" ({check.detail})" if check.detail else ""
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}{detail}")
    failed = [c for c in checks.items if not c.ok]
    if failed:
        runtime.fail(f"{title} failed: {len(failed)} of {len(checks.items)} checks")
    print(f"{title} passed: {len(checks.items)} checks")


def backfill(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run fn_projects_membership_backfill() and print its counts."""
    counts = _run(lambda db: run_backfill(db, tenant))
    _print_counts("membership backfill done", counts, as_json)


def rerun(
    batch: Annotated[str, typer.Option(help="Batch id: the uuid, or the string sent upstream.")],
    tenant: Annotated[str, typer.Option(help="Tenant id.")],
    as_json: JsonOption = False,
) -> None:
    """Re-merge a staged batch's rows with today's directories and print the metrics."""
    config = runtime.settings()
    batch_id = identifier_uuid(tenant, batch)
    result = _run(
        lambda db: ImportService(db).rerun(tenant, batch_id, max_rows=config.max_rows))
    _print_counts(f"re-merged batch {result.batch_id} for tenant {tenant} "
                  f"(correlation_id {result.correlation_id})", result.metrics, as_json)


def cleanup(
    imports_days: Annotated[int, typer.Option(
        help="Delete staging_imports older than this many days (0: all).")]
        = DEFAULT_IMPORTS_DAYS,
    anomalies_days: Annotated[int, typer.Option(
        help="Delete import_anomalies older than this many days (0: all).")]
        = DEFAULT_ANOMALIES_DAYS,
    chunk_size: Annotated[int, typer.Option(
        help="Rows deleted per table and transaction.")] = DEFAULT_CHUNK_SIZE,
    as_json: JsonOption = False,
) -> None:
    """Run fn_cleanup_import_data and print its counts."""
    if imports_days < 0 or anomalies_days < 0:
        runtime.fail("--imports-days and --anomalies-days must be 0 or more")
    if chunk_size < 1:
        runtime.fail("--chunk-size must be 1 or more")
    result = _run(lambda db: Retention(db).cleanup(imports_days, anomalies_days,
                                                       chunk_size=chunk_size))
    _print_counts(f"retention cleanup done (imports {imports_days} d, anomalies "
                  f"{anomalies_days} d)", result.as_dict(), as_json)


def verify() -> None:
    """Check migrations, tables, views, functions, the checksum constraint, RLS and the
    operator RPC's refusal; one line per check, non-zero exit on any failure."""
    checks = _run(run_verify)
    _print_checks("verification", checks)


def smoke() -> None:
    """Send a 3-row batch for a throwaway tenant through the merge and check metrics,
    memberships, anomalies, replay and backfill; rolled back afterwards."""
    checks = _run(run_smoke)
    _print_checks("smoke test", checks)


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the CLI."""
    for verb in (backfill, rerun, cleanup, verify, smoke):
        app.command()(verb)
