"""The import pipeline serves a caller without HTTP: given a request's headers, query and body,
it imports, answers a re-send as a replay, refuses a bad bearer, and records and counts each
request as the route does."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import psycopg

from projects_import.db.connection import Database
from projects_import.errors import ProjectsImportError
from projects_import.imports.gate import ImportGate
from projects_import.imports.pipeline import ImportCall, ImportOutcome, ImportPipeline
from projects_import.imports.service import ImportService
from projects_import.observability import Metrics
from projects_import.settings import Settings
from projects_import.tenants import TenantStore
from tests.support import batch, project_row


def call(secret: str, body: bytes) -> ImportCall:
    async def read() -> tuple[bytes, int]:
        return body, len(body)

    async def discard() -> bool:
        return True

    return ImportCall(headers={"authorization": f"Bearer {secret}",
                               "content-type": "application/json"},
                      query={}, read_body=read, discard_body=discard)


async def run_calls(settings: Settings, database_url: str,
                    calls: list[ImportCall]) -> list[ImportOutcome | ProjectsImportError]:
    outcomes: list[ImportOutcome | ProjectsImportError] = []
    async with Database(database_url, max_size=2) as db:
        imports = ImportService(db, retry_after_seconds=settings.retry_after_seconds)
        pipeline = ImportPipeline(settings=settings, db=db, tenants=TenantStore(db),
                                  imports=imports, gate=ImportGate(), metrics=Metrics())
        for one in calls:
            try:
                outcomes.append(await pipeline.run(one))
            except ProjectsImportError as exc:
                outcomes.append(exc)
        await imports.recorded()
    return outcomes


def test_an_import_and_its_replay_without_http(
        settings: Settings, database_url: str, db: psycopg.Connection[Any],
        tenant: tuple[str, str], directories: None) -> None:
    tenant_id, secret = tenant
    body = json.dumps(batch([project_row("PIPE-1"), project_row("PIPE-2")],
                            batch_id="pipeline-1")).encode()
    first, again, stranger = calls = [call(secret, body), call(secret, body),
                                      call("not-a-secret", body)]
    imported, replayed, refused = asyncio.run(run_calls(settings, database_url, calls))

    assert isinstance(imported, ImportOutcome) and imported.status == 200
    assert not imported.result.replayed
    assert imported.result.metrics["inserted_projects"] == 2
    assert isinstance(replayed, ImportOutcome) and replayed.status == 200
    assert replayed.result.replayed
    assert replayed.result.batch_id == imported.result.batch_id
    assert replayed.result.metrics["inserted_projects"] == 2  # the original answer
    assert isinstance(refused, ProjectsImportError) and refused.http_status == 401
    # the log fields the route would log, and the correlation id the answer would carry
    assert first.fields["tenant_id"] == tenant_id and first.fields["rows"] == 2
    assert first.fields["replayed"] is False and again.fields["replayed"] is True
    assert first.correlation_id == str(imported.result.correlation_id)
    assert again.correlation_id == str(replayed.result.correlation_id)
    assert stranger.fields["error_code"] == "unauthorized"

    projects = db.execute("select count(*) as n from projects where tenant_id = %s",
                          (tenant_id,)).fetchone()
    assert projects["n"] == 2
    recorded = db.execute("select status, replayed, correlation_id from import_requests "
                          "order by id").fetchall()
    assert [(r["status"], r["replayed"]) for r in recorded] == [(200, False), (200, True)]
    assert uuid.UUID(str(recorded[0]["correlation_id"])) == imported.result.correlation_id


def test_a_bad_dry_run_is_refused_before_anything_is_written(
        settings: Settings, database_url: str, db: psycopg.Connection[Any],
        tenant: tuple[str, str]) -> None:
    _, secret = tenant
    one = call(secret, b"{}")
    one.query = {"dry_run": "maybe"}
    (refused,) = asyncio.run(run_calls(settings, database_url, [one]))
    assert isinstance(refused, ProjectsImportError) and refused.http_status == 400
    assert "dry_run" in refused.message
    recorded = db.execute("select status, error_code from import_requests").fetchall()
    assert [(r["status"], r["error_code"]) for r in recorded] == [(400, "invalid_parameters")]
