"""`projects-import imports list|show`: the import history from the command line (SPEC §9).

The command line is the operator at the database's console: it reads through the same operator
RPCs as GET /imports, under claims of an admin named `projects-import-cli`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import typer

from projects_import.cli import runtime
from projects_import.cursor import CursorCodec
from projects_import.db.connection import Database
from projects_import.imports.history import (
    BATCH_STATES,
    DETAIL_FIELDS,
    IMPORT_FIELDS,
    MAX_LIMIT,
    ImportFilter,
    ImportHistory,
    public_row,
)
from projects_import.imports.review import BatchReview
from projects_import.settings import Settings
from projects_import.vocabulary import TENANT_ID

# Who the database sees (and records, e.g. pausing a tenant) when the command line acts.
CLI_SUBJECT = "projects-import-cli"
CLI_CLAIMS = {"sub": CLI_SUBJECT, "role": "authenticated", "app_metadata": {"role": "admin"}}

imports_app = typer.Typer(no_args_is_help=True, help="The history of import requests.")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_value)


def _count(value: Any) -> str:
    return "-" if value is None else str(value)


def _history(db: Database, config: Settings) -> ImportHistory:
    """The history, its cursors signed as `serve` signs them (same JWT secret)."""
    return ImportHistory(db, CursorCodec(config.jwt_secret))


@imports_app.command("list")
def imports_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None,
    status: Annotated[int | None, typer.Option(
        help="Only requests answered with this HTTP status code (e.g. 200, 422).",
        min=100, max=599)] = None,
    since: Annotated[datetime | None, typer.Option(
        help="Only requests received at or after this ISO date-time (UTC without offset).",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"])] = None,
    limit: Annotated[int, typer.Option(help=f"At most this many, 1..{MAX_LIMIT}.",
                                       min=1, max=MAX_LIMIT)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print GET /imports' JSON.")] = False,
    batch_state: Annotated[str | None, typer.Option(
        help="Only requests whose batch is merged, held, published, rejected or "
             "superseded.")] = None,
) -> None:
    """List import requests, newest first."""
    if tenant is not None and not TENANT_ID.match(tenant):
        runtime.fail(f"{tenant!r} is not a tenant id")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if batch_state is not None and batch_state not in BATCH_STATES:
        runtime.fail(f"--batch-state must be one of {', '.join(BATCH_STATES)}")
    selection = ImportFilter(tenant=tenant, status=status, since=since, limit=limit,
                             batch_state=batch_state)
    config = runtime.settings()
    page = runtime.run(config, lambda db: _history(db, config).page(CLI_CLAIMS, selection))
    rows = [public_row(row, IMPORT_FIELDS) for row in page.rows]
    if as_json:
        print(_dumps({"imports": rows, "next_cursor": page.next_cursor}))
        return
    if not rows:
        print("no import requests" + (f" for tenant {tenant}" if tenant else ""))
        return
    print(f"{'id':>7}  {'received (UTC)':<19}  {'tenant':<12} {'status':>6}  "
          f"{'rows':>5} {'ins':>5} {'upd':>5} {'same':>5} {'anom':>5}  batch")
    for row in rows:
        batch = row["request_batch_id"] or row["batch_id"] or "-"
        outcome = "replayed" if row["replayed"] else (row["error_code"] or "")
        if row["batch_state"] not in (None, "merged"):
            outcome = f"{outcome} {row['batch_state']}".strip()
        print(f"{row['id']:>7}  {row['received_at'].astimezone(UTC):%Y-%m-%d %H:%M:%S}  "
              f"{row['tenant_id']:<12} {row['status']:>6}  {_count(row['rows']):>5} "
              f"{_count(row['inserted_projects']):>5} {_count(row['updated_projects']):>5} "
              f"{_count(row['unchanged_projects']):>5} {_count(row['anomalies_count']):>5}  "
              f"{batch} {outcome}".rstrip())
    if page.next_cursor:
        print(f"(more: raise --limit above {limit} or narrow with --since/--tenant)")


@imports_app.command("show")
def imports_show(
    import_id: Annotated[int, typer.Argument(metavar="ID", help="The request's id.",
                                             min=1, max=2**63 - 1)],
    as_json: Annotated[bool, typer.Option("--json", help="Print GET /imports/{id}'s JSON.")
                       ] = False,
) -> None:
    """One import request with its staged metrics, reruns and violations summary."""
    config = runtime.settings()

    async def get(db: Any) -> dict[str, Any]:
        return await _history(db, config).get(CLI_CLAIMS, import_id)

    row = runtime.run(config, get)
    detail = public_row(row, DETAIL_FIELDS)
    if as_json:
        print(_dumps(detail))
        return
    for name in DETAIL_FIELDS:
        value = detail[name]
        if name in ("staged_metrics", "violations_summary", "reruns", "batch"):
            continue
        shown = value.isoformat() if isinstance(value, datetime) else value
        print(f"{name}: {'-' if shown is None else shown}")
    metrics = detail["staged_metrics"]
    print("staged_metrics: " + ("-" if metrics is None else ""))
    for key, value in (metrics or {}).items():
        print(f"  {key}: {value}")
    print(f"reruns: {len(detail['reruns'])}")
    for rerun in detail["reruns"]:
        print(f"  {rerun.get('at')}: inserted {rerun.get('inserted_projects')}, updated "
              f"{rerun.get('updated_projects')}, anomalies {rerun.get('anomalies_count')}")
    batch = detail["batch"]
    if batch:
        print(f"batch_state: {batch['batch_state']}")
        for finding in (batch.get("audit") or {}).get("findings") or []:
            print(f"  finding: {finding['check']} observed {finding['observed']} > limit "
                  f"{finding['limit']}")
        for decision in batch["decisions"]:
            reason = f": {decision['reason']}" if decision.get("reason") else ""
            print(f"  {decision['decided_at']} {decision['decision']} by "
                  f"{decision['actor']}{reason}")
    summary = detail["violations_summary"]
    if summary:
        codes = ", ".join(f"{code} {count}" for code, count in summary["by_code"].items())
        print(f"violations: {detail['violations_total']} ({codes})")
        for place in summary["first"]:
            where = "" if place["row_index"] is None else f"row {place['row_index'] + 1} "
            print(f"  {where}{place['field']}: {place['code']}")


@imports_app.command("publish")
def imports_publish(
    import_id: Annotated[int, typer.Argument(metavar="ID", help="The request's id.",
                                             min=1, max=2**63 - 1)],
) -> None:
    """Publish the batch an audit held: merge it (except rows a later batch overtook)."""
    config = runtime.settings()
    result = runtime.run(config, lambda db: BatchReview(db).publish(import_id, CLI_SUBJECT))
    metrics = result.get("metrics") or {}
    print(f"batch {result['batch_id']} {result['batch_state']}: inserted "
          f"{metrics.get('inserted_projects', 0)}, updated {metrics.get('updated_projects', 0)}, "
          f"memberships ended {metrics.get('memberships_ended', 0)}, superseded rows "
          f"{result['superseded_rows']}")


@imports_app.command("reject")
def imports_reject(
    import_id: Annotated[int, typer.Argument(metavar="ID", help="The request's id.",
                                             min=1, max=2**63 - 1)],
    reason: Annotated[str, typer.Option(help="Why (recorded and shown in the history; "
                                             "1-500 characters).")],
) -> None:
    """Reject the batch an audit held: nothing is merged; a re-send answers 422."""
    if not reason.strip():
        runtime.fail("--reason must not be blank")
    config = runtime.settings()
    result = runtime.run(config, lambda db: BatchReview(db).reject(
        import_id, reason.strip(), CLI_SUBJECT))
    print(f"batch {result['batch_id']} rejected: {reason.strip()}")


def register(app: typer.Typer) -> None:
    app.add_typer(imports_app, name="imports")
