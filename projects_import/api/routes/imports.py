"""POST /import-projects — the upstream's entry point (SPEC §4.1). Authenticate, read the body
under its limit, have a worker process decode, validate and serialize it, submit; then count
the request (Prometheus) and have the import manager record it (import_requests), whatever the
answer was — a busy tenant's 429 is answered first and recorded right after."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response

from projects_import.alerting.held import alert_held_later
from projects_import.api.body import discard_body, read_body
from projects_import.api.deps import Services, ServicesDep
from projects_import.api.errors import ApiError, bearer_token, correlation_id_of
from projects_import.api.throttle import TenantBusy
from projects_import.db.errors import unavailable
from projects_import.errors import ProjectsImportError
from projects_import.imports import decoding
from projects_import.imports.contract import violations_summary
from projects_import.imports.history import request_record
from projects_import.imports.offload import workers
from projects_import.imports.prepare import Refused, prepare
from projects_import.imports.service import (
    DigestReplay,
    ImportBusy,
    ImportResult,
    ReceivedRequest,
)

router = APIRouter(tags=["import"])


@router.post("/import-projects", summary="Import one batch of projects")
async def import_projects(request: Request, response: Response,
                          services: ServicesDep) -> dict[str, Any]:
    fields: dict[str, Any] = request.state.log_fields
    try:
        result = await _run_import(request, services, fields)
    except ProjectsImportError as exc:
        fields["error_code"] = exc.code
        if exc.violations:
            summary = exc.summary if isinstance(exc, Refused) else None
            fields.update(violations_total=exc.violations_total,
                          violations_summary=summary or violations_summary(exc.violations))
        # busy: answer at once, the record follows (a round trip to a database under load)
        await _finish(request, services, fields, exc.http_status,
                      later=isinstance(exc, ImportBusy))
        raise
    except Exception as exc:
        lost = unavailable(exc)  # the database went away: 503, retryable
        fields["error_code"] = lost.code if lost else "internal_error"
        await _finish(request, services, fields, lost.http_status if lost else 500)
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
    await _finish(request, services, fields, status)
    if status == 202:
        response.status_code = 202
        if not result.replayed:  # held now: tell the webhooks (a re-send is suppressed too)
            alert_held_later(services.db, services.settings, result.tenant_id,
                             str(result.batch_id), result.audit or {}, metrics)
    return result.as_dict()


def _dry_run(request: Request) -> bool:
    """`?dry_run=true` (SPEC §10): run the import in a transaction that is rolled back."""
    value = request.query_params.get("dry_run", "false").strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(400, "invalid_parameters", "dry_run: must be true or false")
    return value in ("true", "1")


async def _run_import(request: Request, services: Services,
                      fields: dict[str, Any]) -> ImportResult:
    """Authenticate, read, validate and submit; every refusal is a ProjectsImportError."""
    settings = services.settings
    bearer = bearer_token(request, "tenant secret")
    media = decoding.media_type(request.headers.get("content-type"))
    tenant_id = services.import_gate.holder(bearer)  # busy: no need to ask the database
    if tenant_id is None:
        tenant_id = await services.tenants.authenticate(bearer)
    if tenant_id is None:
        raise ApiError(401, "unauthorized", "invalid bearer secret",
                       headers={"WWW-Authenticate": "Bearer"})
    fields["tenant_id"] = tenant_id
    try:
        with services.import_gate.turn(tenant_id, bearer):
            return await _read_and_submit(request, services, fields, tenant_id, media)
    except TenantBusy as exc:
        # refused before the body is decoded or validated; it is only drained (unread, the
        # connection would be reset under a client still sending it)
        drained = await discard_body(request, settings.max_body_bytes,
                                     settings.body_timeout_seconds)
        raise ImportBusy(tenant_id, settings.retry_after_seconds,
                         headers=None if drained else {"Connection": "close"}) from exc


async def _read_and_submit(request: Request, services: Services, fields: dict[str, Any],
                           tenant_id: str, media: str) -> ImportResult:
    """Read the body; decode, validate and serialize it in a worker process; submit."""
    settings = services.settings
    started = time.perf_counter()  # parse_ms: body read, decode and validation
    body, received = await read_body(request, settings.max_body_bytes,
                                     settings.body_timeout_seconds)
    fields["bytes"] = received
    dry_run = _dry_run(request)
    if dry_run:
        fields["dry_run"] = True
    probe = await services.imports.replay_by_digest(tenant_id, ReceivedRequest(
        media, body, request.query_params, request.headers.get("x-correlation-id"),
        uuid.UUID(correlation_id_of(request))), max_rows=settings.max_rows)
    if probe.replay is not None and not dry_run:  # an exact re-send: answered before decoding
        return _replayed(request, fields, started, probe.replay)
    prepared = await workers.run(
        prepare, media, body, _envelope_parameters(request.query_params), tenant_id=tenant_id,
        max_rows=settings.max_rows, correlation_header=request.headers.get("x-correlation-id"),
        generated_correlation_id=correlation_id_of(request))
    if prepared.envelope is not None:
        if prepared.envelope.correlation_id is not None:
            request.state.correlation_id = prepared.envelope.correlation_id
        fields.update(prepared.envelope.upstream)
    batch = prepared.accepted().with_body(body)
    request.state.correlation_id = str(batch.correlation_id)
    fields.update(batch_id=str(batch.batch_id), rows=batch.row_count, source=batch.source)
    fields["parse_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return await services.imports.submit(batch, request_digest=probe.digest, dry_run=dry_run)


def _replayed(request: Request, fields: dict[str, Any], started: float,
              replay: DigestReplay) -> ImportResult:
    """A digest replay's answer, with the request fields the checksum path would have kept."""
    result = replay.result
    request.state.correlation_id = str(result.correlation_id)
    if replay.request_batch_id is not None:
        fields["request_batch_id"] = replay.request_batch_id
    fields.update(batch_id=str(result.batch_id), rows=replay.rows, source=replay.source,
                  parse_ms=round((time.perf_counter() - started) * 1000 - result.merge_ms, 2))
    return result


def _envelope_parameters(query: Mapping[str, str]) -> dict[str, str]:
    """The envelope's query parameters (a CSV body's), as a plain dict for the worker."""
    return {name: query[name] for name in decoding.ENVELOPE_PARAMETERS if name in query}


async def _finish(request: Request, services: Services, fields: dict[str, Any],
                  status: int, *, later: bool = False) -> None:
    """Count the request in Prometheus and, for a known tenant, record it (`later`: after
    the answer)."""
    services.metrics.count_import(fields, status)
    if "tenant_id" not in fields:
        return
    record = request_record(fields["tenant_id"], correlation_id_of(request), status, fields)
    if later:
        await services.imports.record_request_later(record)
    else:
        await services.imports.record_request_logged(record)
