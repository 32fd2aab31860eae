"""GET /anomalies, POST /anomalies/alerts and the acknowledge/resolve steps (SPEC §4.2, §4.3).

Callers send a user JWT; reads run in the database under its claims (`AnomalyManager`), so
the operator RPCs and row-level security refuse a non-operator even past the role check here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from projects_import.alerts import (
    WebhookConfigError,
    WebhookDeliveryError,
    send_alert,
    summarize,
    validate_webhook,
)
from projects_import.anomalies import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_WINDOW_HOURS,
    ROW_FIELDS,
    SEVERITIES,
    STATS_FIELDS,
    AnomalyFilter,
    AnomalyManager,
    AnomalyNotFound,
    InvalidSelection,
    NotOperator,
    StatusConflict,
)
from projects_import.api.deps import ServicesDep
from projects_import.api.errors import ApiError, bearer_token
from projects_import.auth import (
    OPERATOR_ROLES,
    TokenError,
    app_role,
    database_claims,
    decode_token,
)
from projects_import.tenants import TENANT_ID

router = APIRouter(tags=["anomalies"])

_TRUE = ("", "true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


def operator_claims(request: Request, services: ServicesDep) -> dict[str, Any]:
    """The verified claims of an operator/admin user JWT (401 / 403 otherwise)."""
    try:
        token = bearer_token(request, "user JWT")
    except ApiError as exc:
        raise _refused(request, exc) from exc
    try:
        claims = decode_token(services.settings.jwt_secret, token,
                              jwks_url=services.settings.jwt_jwks_url)
    except TokenError as exc:
        raise _refused(request, ApiError(401, "unauthorized", str(exc),
                                         headers=_UNAUTHORIZED)) from exc
    if app_role(claims) not in OPERATOR_ROLES:
        raise _refused(request, ApiError(
            403, "forbidden", "operator or admin role required (app_metadata.role)"))
    return database_claims(claims)


OperatorClaims = Annotated[dict[str, Any], Depends(operator_claims)]


def _refused(request: Request, error: ApiError) -> ApiError:
    request.state.log_fields["error_code"] = error.code
    return error


def _bad(request: Request, message: str) -> ApiError:
    return _refused(request, ApiError(400, "invalid_parameters", message))


def _int_param(request: Request, name: str, raw: str | None, default: int,
               low: int, high: int) -> int:
    if raw is None:
        return default
    text = raw.strip()
    if not _INTEGER.match(text):
        raise _bad(request, f"{name} must be an integer from {low} to {high}, "
                            f"got {raw[:32]!r}")
    value = int(text) if len(text) <= 12 else None
    if value is None or not low <= value <= high:
        raise _bad(request, f"{name} must be from {low} to {high}, got {text[:32]}")
    return value


def _severities(request: Request, raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    wanted = [part.strip().lower() for part in raw.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in SEVERITIES]
    if unknown:
        raise _bad(request, f"severity accepts a comma list of {', '.join(SEVERITIES)}; "
                            f"unknown: {', '.join(repr(u) for u in unknown[:5])}")
    return tuple(dict.fromkeys(wanted)) or None


def _tenant(request: Request, raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    if not TENANT_ID.match(raw.strip()):
        raise _bad(request, "tenant must be a tenant id: 1-64 letters, digits, '_', '.', ':' "
                            "or '-', starting with a letter or digit")
    return raw.strip()


def _flag(request: Request, name: str, raw: str | None) -> bool:
    if raw is None:
        return False
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise _bad(request, f"{name} must be true or false, got {raw!r}")


def _manager(services: ServicesDep) -> AnomalyManager:
    return AnomalyManager(services.db)


@router.get("/anomalies", summary="Recent anomalies or their stats (operators and admins)")
async def list_anomalies(
    request: Request,
    services: ServicesDep,
    claims: OperatorClaims,
    window_hours: Annotated[str | None, Query(
        alias="windowHours", description=f"1..{MAX_WINDOW_HOURS}, default 24")] = None,
    tenant: Annotated[str | None, Query(description="only this tenant")] = None,
    severity: Annotated[str | None, Query(
        description="comma list of error,warning,info")] = None,
    stats: Annotated[str | None, Query(
        description="true: aggregates by tenant, anomaly_type, severity")] = None,
    limit: Annotated[str | None, Query(
        description=f"rows, 1..{MAX_LIMIT}, default {DEFAULT_LIMIT}")] = None,
) -> dict[str, Any]:
    selection = AnomalyFilter(
        window_hours=_int_param(request, "windowHours", window_hours, 24, 1, MAX_WINDOW_HOURS),
        tenant=_tenant(request, tenant),
        severities=_severities(request, severity),
        limit=_int_param(request, "limit", limit, DEFAULT_LIMIT, 1, MAX_LIMIT),
    )
    want_stats = _flag(request, "stats", stats)
    fields: dict[str, Any] = request.state.log_fields
    if selection.tenant:
        fields["tenant_id"] = selection.tenant
    manager = _manager(services)
    try:
        if want_stats:
            rows = await manager.stats(claims, selection)
            fields["anomalies_count"] = sum(int(r["count"]) for r in rows)
            return {"stats": [{k: r[k] for k in STATS_FIELDS} for r in rows]}
        rows = await manager.recent(claims, selection)
    except NotOperator as exc:
        raise _refused(request, ApiError(403, "forbidden", "operator or admin role required "
                                                           "(refused by the database)")) from exc
    except InvalidSelection as exc:
        raise _bad(request, str(exc)) from exc
    fields["rows"] = len(rows)
    return {"anomalies": [{k: r[k] for k in ROW_FIELDS} for r in rows]}


@router.post("/anomalies/alerts", summary="Post an aggregate alert when anomalies reach the "
             "threshold", status_code=202,
             responses={200: {"description": "below the threshold: not alerted"},
                        204: {"description": "no webhook configured"},
                        502: {"description": "the webhook failed"}})
async def post_alert(request: Request, services: ServicesDep, claims: OperatorClaims,
                     response: Response) -> Any:
    settings = services.settings
    if not settings.alert_webhook:
        return Response(status_code=204)
    try:
        webhook = validate_webhook(settings.alert_webhook)
    except WebhookConfigError as exc:
        raise _refused(request, ApiError(502, "alert_webhook_invalid", str(exc))) from exc
    selection = AnomalyFilter(window_hours=settings.alert_window_hours, limit=None)
    try:
        stats = await _manager(services).stats(claims, selection)
    except NotOperator as exc:
        raise _refused(request, ApiError(403, "forbidden", "operator or admin role required "
                                                           "(refused by the database)")) from exc
    summary = summarize(stats, window_hours=settings.alert_window_hours,
                        threshold=settings.alert_min_count)
    request.state.log_fields["anomalies_count"] = summary.total
    if not summary.due:
        response.status_code = 200
        return {"alerted": False, **summary.as_dict()}
    try:
        await send_alert(webhook, summary)
    except WebhookDeliveryError as exc:
        raise _refused(request, ApiError(502, "alert_webhook_failed", str(exc))) from exc
    return {"alerted": True, **summary.as_dict()}


async def _set_status(request: Request, services: ServicesDep, claims: dict[str, Any],
                      anomaly_id: int, status: str) -> dict[str, Any]:
    try:
        row = await _manager(services).set_status(claims, anomaly_id, status)
    except NotOperator as exc:
        raise _refused(request, ApiError(403, "forbidden", "operator or admin role required "
                                                           "(refused by the database)")) from exc
    except AnomalyNotFound as exc:
        raise _refused(request, ApiError(404, "not_found", str(exc))) from exc
    except StatusConflict as exc:
        raise _refused(request, ApiError(409, "status_conflict", str(exc))) from exc
    request.state.log_fields["tenant_id"] = row["tenant_id"]
    return row


AnomalyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the anomaly's id")]


@router.post("/anomalies/{anomaly_id}/acknowledge", summary="Acknowledge an anomaly")
async def acknowledge_anomaly(request: Request, services: ServicesDep, claims: OperatorClaims,
                              anomaly_id: AnomalyId) -> dict[str, Any]:
    return await _set_status(request, services, claims, anomaly_id, "acknowledged")


@router.post("/anomalies/{anomaly_id}/resolve", summary="Mark an anomaly resolved")
async def resolve_anomaly(request: Request, services: ServicesDep, claims: OperatorClaims,
                          anomaly_id: AnomalyId) -> dict[str, Any]:
    return await _set_status(request, services, claims, anomaly_id, "resolved")
