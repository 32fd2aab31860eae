"""One import request from its parts to its outcome (SPEC §4.1): authenticate, take the tenant's
turn, read the body under its limit, answer an exact re-send from its digest, have a worker
process decode, validate and serialize the batch, submit it (or dry-run it); then count the
request (Prometheus) and record it (import_requests), whatever the answer was — a busy
tenant's 429 is answered first and recorded right after.

Whatever carries the request (the HTTP route, a test, a command) hands over its headers, query
and a body source, and gets the outcome back: a request walks down the layers once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from projects_import.alerting.held import alert_held_later
from projects_import.auth import bearer_from
from projects_import.db.connection import Database
from projects_import.db.errors import unavailable
from projects_import.errors import InvalidInput, ProjectsImportError, Unauthorized
from projects_import.imports import decoding
from projects_import.imports.contract import violations_summary
from projects_import.imports.gate import ImportGate, TenantBusy
from projects_import.imports.history import request_record
from projects_import.imports.offload import workers
from projects_import.imports.prepare import Refused, prepare
from projects_import.imports.service import (
    DigestReplay,
    ImportBusy,
    ImportResult,
    ImportService,
    ReceivedRequest,
)
from projects_import.observability import Metrics
from projects_import.settings import Settings
from projects_import.tenants import TenantStore


@dataclass
class ImportCall:
    """One import request, whatever carried it (header names in lower case, or a
    case-insensitive mapping such as Starlette's). `read_body` returns (decoded body, bytes
    received) and refuses one over the limit; `discard_body` drains a body refused unread and
    says whether the connection can carry the next request. `correlation_id` starts as the one
    generated for the request and becomes the batch's once known; `fields` collects the
    request's log fields (SPEC §6)."""

    headers: Mapping[str, str]
    query: Mapping[str, str]
    read_body: Callable[[], Awaitable[tuple[bytes, int]]]
    discard_body: Callable[[], Awaitable[bool]]
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportOutcome:
    """An accepted import's answer: 200, or 202 when held for review."""

    status: int
    result: ImportResult


class ImportPipeline:
    def __init__(self, *, settings: Settings, db: Database, tenants: TenantStore,
                 imports: ImportService, gate: ImportGate, metrics: Metrics) -> None:
        self.settings = settings
        self.db = db
        self.tenants = tenants
        self.imports = imports
        self.gate = gate
        self.metrics = metrics

    async def run(self, call: ImportCall) -> ImportOutcome:
        """The outcome of an accepted import; a refusal is raised as a ProjectsImportError
        (a lost database as its 503), counted and recorded first."""
        fields = call.fields
        try:
            result = await self._import(call)
        except ProjectsImportError as exc:
            fields["error_code"] = exc.code
            if exc.violations:
                summary = exc.summary if isinstance(exc, Refused) else None
                fields.update(violations_total=exc.violations_total,
                              violations_summary=summary or violations_summary(exc.violations))
            # busy: answer at once, the record follows (a round trip to a database under load)
            await self._finish(call, exc.http_status, later=isinstance(exc, ImportBusy))
            raise
        except Exception as exc:
            lost = unavailable(exc)  # the database went away: 503, retryable
            fields["error_code"] = lost.code if lost else "internal_error"
            await self._finish(call, lost.http_status if lost else 500)
            if lost:
                raise lost from exc
            raise
        metrics = result.metrics
        fields.update(
            inserted=metrics["inserted_projects"], updated=metrics["updated_projects"],
            unchanged=metrics["unchanged_projects"],
            org_memberships_upserted=metrics["org_memberships_upserted"],
            user_memberships_upserted=metrics["user_memberships_upserted"],
            anomalies_count=metrics["anomalies_count"], replayed=result.replayed,
            merge_ms=round(result.merge_ms, 2),
            staging_id=None if result.dry_run else metrics.get("staging_id"),
        )
        status = 202 if result.held and not result.dry_run else 200
        await self._finish(call, status)
        if status == 202 and not result.replayed:  # held now: tell the webhooks (once)
            alert_held_later(self.db, self.settings, result.tenant_id,
                             str(result.batch_id), result.audit or {}, metrics)
        return ImportOutcome(status, result)

    async def _import(self, call: ImportCall) -> ImportResult:
        """Authenticate, take the tenant's turn, read, validate and submit."""
        bearer = bearer_from(call.headers.get("authorization"), "tenant secret")
        media = decoding.media_type(call.headers.get("content-type"))
        tenant_id = self.gate.holder(bearer)  # busy: no need to ask the database
        if tenant_id is None:
            tenant_id = await self.tenants.authenticate(bearer)
        if tenant_id is None:
            raise Unauthorized("invalid bearer secret")
        call.fields["tenant_id"] = tenant_id
        try:
            with self.gate.turn(tenant_id, bearer):
                return await self._read_and_submit(call, tenant_id, media)
        except TenantBusy as exc:
            # refused before the body is decoded or validated; it is only drained (unread, the
            # connection would be reset under a client still sending it)
            drained = await call.discard_body()
            raise ImportBusy(tenant_id, self.settings.retry_after_seconds,
                             headers=None if drained else {"Connection": "close"}) from exc

    async def _read_and_submit(self, call: ImportCall, tenant_id: str,
                               media: str) -> ImportResult:
        """Read the body; answer a re-send from its digest, or decode, validate and serialize
        it in a worker process and submit it."""
        fields = call.fields
        started = time.perf_counter()  # parse_ms: body read, decode and validation
        body, received = await call.read_body()
        fields["bytes"] = received
        dry_run = dry_run_of(call.query)
        if dry_run:
            fields["dry_run"] = True
        correlation_header = call.headers.get("x-correlation-id")
        probe = await self.imports.replay_by_digest(tenant_id, ReceivedRequest(
            media, body, call.query, correlation_header, uuid.UUID(call.correlation_id)),
            max_rows=self.settings.max_rows)
        if probe.replay is not None and not dry_run:  # an exact re-send: answered undecoded
            return _replayed(call, started, probe.replay)
        prepared = await workers.run(
            prepare, media, body, _envelope_parameters(call.query), tenant_id=tenant_id,
            max_rows=self.settings.max_rows, correlation_header=correlation_header,
            generated_correlation_id=call.correlation_id)
        if prepared.envelope is not None:
            if prepared.envelope.correlation_id is not None:
                call.correlation_id = prepared.envelope.correlation_id
            fields.update(prepared.envelope.upstream)
        batch = prepared.accepted().with_body(body)
        call.correlation_id = str(batch.correlation_id)
        fields.update(batch_id=str(batch.batch_id), rows=batch.row_count, source=batch.source)
        fields["parse_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return await self.imports.submit(batch, request_digest=probe.digest, dry_run=dry_run)

    async def _finish(self, call: ImportCall, status: int, *, later: bool = False) -> None:
        """Count the request in Prometheus and, for a known tenant, record it (`later`: after
        the answer)."""
        fields = call.fields
        self.metrics.count_import(fields, status)
        if "tenant_id" not in fields:
            return
        record = request_record(fields["tenant_id"], call.correlation_id, status, fields)
        if later:
            await self.imports.record_request_later(record)
        else:
            await self.imports.record_request_logged(record)


def dry_run_of(query: Mapping[str, str]) -> bool:
    """`?dry_run=true` (SPEC §10): run the import in a transaction that is rolled back."""
    value = query.get("dry_run", "false").strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise InvalidInput("dry_run: must be true or false", code="invalid_parameters")
    return value in ("true", "1")


def _replayed(call: ImportCall, started: float, replay: DigestReplay) -> ImportResult:
    """A digest replay's answer, with the request fields the checksum path would have kept."""
    result = replay.result
    call.correlation_id = str(result.correlation_id)
    if replay.request_batch_id is not None:
        call.fields["request_batch_id"] = replay.request_batch_id
    call.fields.update(batch_id=str(result.batch_id), rows=replay.rows, source=replay.source,
                       parse_ms=round((time.perf_counter() - started) * 1000 - result.merge_ms,
                                      2))
    return result


def _envelope_parameters(query: Mapping[str, str]) -> dict[str, str]:
    """The envelope's query parameters (a CSV body's), as a plain dict for the worker."""
    return {name: query[name] for name in decoding.ENVELOPE_PARAMETERS if name in query}
