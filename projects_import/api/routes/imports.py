"""POST /import-projects — the upstream's entry point (SPEC §4.1)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import time
import uuid
from typing import Any

import structlog
from fastapi import APIRouter, Request

from projects_import.api.body import read_body
from projects_import.api.deps import Services, ServicesDep
from projects_import.api.errors import ApiError, bearer_token, correlation_id_of
from projects_import.db.queries import query
from projects_import.imports.contract import (
    ContractError,
    MalformedPayload,
    Violation,
    parse_payload,
)
from projects_import.imports.history import record_params, upstream_fields, violations_summary
from projects_import.imports.service import ImportBusy, ImportResult, TenantPaused

router = APIRouter(tags=["import"])
log = structlog.get_logger("projects_import.api")

_JSON = "application/json"
_CSV = "text/csv"


def _media_type(request: Request) -> str:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return _JSON
    media = content_type.split(";", 1)[0].strip().lower()
    if media in (_JSON, _CSV):
        return media
    raise ApiError(400, "unsupported_content_type",
                   f"Content-Type {media!r} is not accepted; send application/json "
                   "(or text/csv with tenant_id and batch_id as query parameters)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (PostgreSQL cannot store it)")


def _decode_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_float=_finite_float, parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", "the body is not UTF-8 encoded JSON") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json",
                       f"the body is not valid JSON: {exc.msg} at line {exc.lineno} "
                       f"column {exc.colno}") from exc
    except RecursionError as exc:
        raise ApiError(400, "invalid_json", "the JSON is nested too deeply") from exc
    except ValueError as exc:  # NaN/Infinity, huge floats, integers of thousands of digits
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc


def _decode_csv(body: bytes, request: Request) -> dict[str, Any]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_csv", "the CSV body is not UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
        if "stage_application" not in header:
            raise ApiError(400, "invalid_csv",
                           "the CSV needs a header row with at least a stage_application column")
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise ApiError(400, "invalid_csv",
                           f"the CSV header repeats column(s) {', '.join(repeated)}")
        rows: list[dict[str, str]] = []
        shifted: list[Violation] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            if len(cells) > len(header):
                # more cells than columns: an unquoted comma has shifted the values
                shifted.append(Violation(len(rows), "row", "too_many_cells",
                                         f"the row has {len(cells)} cells; the header has "
                                         f"{len(header)} columns"))
            rows.append(dict(zip(header, cells, strict=False)))
    except csv.Error as exc:
        raise ApiError(400, "invalid_csv",
                       f"the CSV cannot be read near line {reader.line_num}: {exc}") from exc
    if shifted:
        raise ApiError(422, "contract_violation", _summary(shifted), violations=shifted)
    payload: dict[str, Any] = {"rows": rows}
    for name in ("tenant_id", "batch_id", "source", "correlation_id"):
        if name in request.query_params:
            payload[name] = request.query_params[name]
    return payload


def _adopt_correlation_id(request: Request, payload: Any) -> None:
    """Errors from here on carry the caller's correlation id when it sent a UUID."""
    candidate = payload.get("correlation_id") if isinstance(payload, dict) else None
    candidate = candidate or request.headers.get("x-correlation-id")
    if isinstance(candidate, str):
        with contextlib.suppress(ValueError):
            request.state.correlation_id = str(uuid.UUID(candidate.strip()))


@router.post("/import-projects", summary="Import one batch of projects")
async def import_projects(request: Request, services: ServicesDep) -> dict[str, Any]:
    fields: dict[str, Any] = request.state.log_fields
    try:
        result = await _run_import(request, services, fields)
    except ApiError as exc:
        fields["error_code"] = exc.code
        if exc.violations:
            fields.update(violations_total=len(exc.violations),
                          violations_summary=violations_summary(exc.violations))
        await _finish(request, services, fields, exc.status)
        raise
    except Exception:
        fields["error_code"] = "internal_error"
        await _finish(request, services, fields, 500)
        raise
    metrics = result.metrics
    fields.update(
        inserted=metrics["inserted_projects"], updated=metrics["updated_projects"],
        unchanged=metrics["unchanged_projects"],
        org_memberships_upserted=metrics["org_memberships_upserted"],
        user_memberships_upserted=metrics["user_memberships_upserted"],
        anomalies_count=metrics["anomalies_count"], replayed=result.replayed,
        merge_ms=round(result.merge_ms, 2), staging_id=metrics.get("staging_id"),
    )
    await _finish(request, services, fields, 200)
    return result.as_dict()


async def _run_import(request: Request, services: Services,
                      fields: dict[str, Any]) -> ImportResult:
    """Authenticate, read, validate and submit; every refusal is an ApiError."""
    settings = services.settings
    bearer = bearer_token(request, "tenant secret")
    media = _media_type(request)
    tenant_id = await services.tenants.authenticate(bearer)
    if tenant_id is None:
        raise ApiError(401, "unauthorized", "invalid bearer secret",
                       headers={"WWW-Authenticate": "Bearer"})
    fields["tenant_id"] = tenant_id
    started = time.perf_counter()  # parse_ms: body read, decode and validation
    body, received = await read_body(request, settings.max_body_bytes)
    fields["bytes"] = received
    payload = _decode_json(body) if media == _JSON else _decode_csv(body, request)
    _adopt_correlation_id(request, payload)
    fields.update(upstream_fields(payload))
    claimed = payload.get("tenant_id") if isinstance(payload, dict) else None
    if isinstance(claimed, str) and claimed.strip() and claimed.strip() != tenant_id:
        raise ApiError(401, "unauthorized", "the bearer secret does not belong to this tenant_id")
    try:
        batch = parse_payload(payload, max_rows=settings.max_rows,
                              generated_correlation_id=uuid.UUID(correlation_id_of(request)))
        request.state.correlation_id = str(batch.correlation_id)
        fields.update(batch_id=str(batch.batch_id), rows=len(batch.rows), source=batch.source)
        fields["parse_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return await services.imports.submit(batch)
    except MalformedPayload as exc:
        raise ApiError(400, "invalid_body", str(exc)) from exc
    except ContractError as exc:
        raise ApiError(422, "contract_violation", _summary(exc.violations),
                       violations=exc.violations) from exc
    except ImportBusy as exc:
        retry_after = str(settings.retry_after_seconds)
        raise ApiError(429, "import_in_progress",
                       "another import for this tenant is in progress; retry after "
                       f"{retry_after} s (concurrency is 1 per tenant)",
                       headers={"Retry-After": retry_after}) from exc
    except TenantPaused as exc:
        raise ApiError(423, "tenant_paused",
                       f"tenant {exc.tenant_id} is paused (quarantined) since {exc.paused_at}: "
                       f"{exc.reason}. Nothing was staged; imports are refused until an "
                       "operator resumes the tenant (do not retry until then)") from exc


def _summary(violations: list[Violation]) -> str:
    if not violations:
        return "the payload breaks the import contract"
    first = violations[0]
    where = f"row {first.row_index}, " if first.row_index is not None else ""
    return (f"{len(violations)} contract violation(s); first: {first.message} "
            f"({where}{first.field})")


async def _finish(request: Request, services: Services, fields: dict[str, Any],
                  status: int) -> None:
    """Count the request in Prometheus and, for a known tenant, in import_requests."""
    m = services.metrics
    labels = {"tenant_id": fields.get("tenant_id", "unknown"), "status": str(status)}
    m.requests.labels(**labels).inc()
    m.bytes.labels(**labels).inc(fields.get("bytes", 0))
    if "parse_ms" in fields:
        m.parse_seconds.labels(**labels).observe(fields["parse_ms"] / 1000)
    if "merge_ms" in fields:
        m.merge_seconds.labels(**labels).observe(fields["merge_ms"] / 1000)
    if status == 200 and not fields.get("replayed"):
        m.rows.labels(**labels).inc(fields.get("rows", 0))
        m.inserted.labels(**labels).inc(fields.get("inserted", 0))
        m.updated.labels(**labels).inc(fields.get("updated", 0))
        m.org_memberships.labels(**labels).inc(fields.get("org_memberships_upserted", 0))
        m.user_memberships.labels(**labels).inc(fields.get("user_memberships_upserted", 0))
        m.anomalies.labels(**labels).inc(fields.get("anomalies_count", 0))
    if "tenant_id" not in fields:
        return
    try:
        async with services.db.pool.connection() as conn:
            await conn.execute(query("import_request_record"), record_params(
                fields["tenant_id"], correlation_id_of(request), status, fields))
    except Exception as exc:  # the history must never change the answer
        log.warning("import_request_not_recorded", error_type=type(exc).__name__,
                    correlation_id=correlation_id_of(request))
