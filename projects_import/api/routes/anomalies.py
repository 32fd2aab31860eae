"""GET /anomalies, POST /anomalies/alerts and the acknowledge/resolve steps (SPEC §4.2, §4.3,
§9). An anomaly is one occurrence of a problem (`routes/problems.py`); acknowledging or
resolving it acts on its problem.

Callers send a user JWT; reads run in the database under its claims (`AnomalyManager`), so
the operator RPCs and row-level security refuse a non-operator even past the role check here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from projects_import.alerting.webhook import WebhookDeliveryError
from projects_import.anomalies.manager import ROW_FIELDS, STATS_FIELDS
from projects_import.api import query_schemas as schemas
from projects_import.api.deps import (
    AlertsDep,
    AnomaliesDep,
    CursorsDep,
    OperatorClaims,
    SettingsDep,
)
from projects_import.api.openapi_answers import STATUS_CHANGE, USER_ERRORS, error, ok
from projects_import.api.params import AnomalySelection, Flag, StrictQuery

router = APIRouter(tags=["anomalies"], dependencies=[StrictQuery], responses=USER_ERRORS)


@router.get("/anomalies", summary="Recent anomalies or their stats (operators and admins)",
            responses={200: ok("`anomalies` (most recent first) and `next_cursor`, or, with "
                               "stats=true, `stats`", "AnomalyList")})
async def list_anomalies(
    request: Request,
    anomalies: AnomaliesDep,
    cursors: CursorsDep,
    claims: OperatorClaims,
    selection: AnomalySelection,
    stats: Annotated[Flag, schemas.flag(default=False), Query(
        description="true (also t, yes, y, 1, on, or blank): aggregates by tenant, "
                    "anomaly_type, severity")] = False,
) -> dict[str, Any]:
    fields: dict[str, Any] = request.state.log_fields
    if selection.tenant:
        fields["tenant_id"] = selection.tenant
    if stats:
        rows = await anomalies.stats(claims, selection)
        fields["anomalies_count"] = sum(int(r["count"]) for r in rows)
        return {"stats": [{k: r[k] for k in STATS_FIELDS} for r in rows]}
    rows, after = await anomalies.page(claims, selection)
    fields["rows"] = len(rows)
    return {"anomalies": [{k: r[k] for k in ROW_FIELDS} for r in rows],
            "next_cursor": cursors.encode("anomalies", *after) if after else None}


@router.post("/anomalies/alerts", summary="Evaluate the alert rules now and post what they "
             "call for", status_code=202,
             responses={200: ok("below the threshold: not alerted", "AlertSummary"),
                        202: ok("the aggregate alert was posted to the webhook",
                                "AlertSummary"),
                        204: {"description": "no webhook configured"},
                        502: error("the webhook is invalid or failed")})
async def post_alert(request: Request, settings: SettingsDep, alerts: AlertsDep,
                     claims: OperatorClaims, response: Response) -> Any:
    if not settings.alert_webhook:
        return Response(status_code=204)
    evaluation, sent = await alerts().run()
    summary = evaluation.summary()
    summary["deliveries"] = [delivery.as_dict() for delivery in sent]
    request.state.log_fields["anomalies_count"] = summary["total"]
    failed = [delivery for delivery in sent if delivery.status != "delivered"]
    if failed:
        first = failed[0]
        later = (f"; delivery {first.id} will be retried with backoff"
                 if first.status == "retrying" else "")
        raise WebhookDeliveryError(
            f"{first.error or 'the webhook did not accept the alert'}; the {first.kind} was "
            f"not accepted{later}")
    if not sent:
        response.status_code = 200
        return {"alerted": False, **summary}
    return {"alerted": True, **summary}


AnomalyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the anomaly's id")]


def _status_route(status: str, summary: str) -> None:
    """POST /anomalies/{id}/<step>: move one anomaly to `status`."""
    step = {"acknowledged": "acknowledge", "resolved": "resolve"}[status]

    @router.post(f"/anomalies/{{anomaly_id}}/{step}", summary=summary, name=f"{step}_anomaly",
                  responses=STATUS_CHANGE)
    async def set_status(request: Request, anomalies: AnomaliesDep, claims: OperatorClaims,
                         anomaly_id: AnomalyId) -> dict[str, Any]:
        row = await anomalies.set_status(claims, anomaly_id, status)
        request.state.log_fields["tenant_id"] = row["tenant_id"]
        return row


_status_route("acknowledged", "Acknowledge an anomaly")
_status_route("resolved", "Mark an anomaly resolved")
