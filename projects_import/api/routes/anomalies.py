"""GET /anomalies, POST /anomalies/alerts and the acknowledge/resolve steps (SPEC §4.2, §4.3).

Callers send a user JWT; reads run in the database under its claims (`AnomalyManager`), so
the operator RPCs and row-level security refuse a non-operator even past the role check here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from projects_import.anomalies.alerts import send_alert, summarize, validate_webhook
from projects_import.anomalies.manager import ROW_FIELDS, STATS_FIELDS, AnomalyFilter
from projects_import.api.deps import AnomaliesDep, OperatorClaims, SettingsDep
from projects_import.api.params import AnomalySelection, Flag

router = APIRouter(tags=["anomalies"])


@router.get("/anomalies", summary="Recent anomalies or their stats (operators and admins)")
async def list_anomalies(
    request: Request,
    anomalies: AnomaliesDep,
    claims: OperatorClaims,
    selection: AnomalySelection,
    stats: Annotated[Flag, Query(
        description="true: aggregates by tenant, anomaly_type, severity")] = False,
) -> dict[str, Any]:
    fields: dict[str, Any] = request.state.log_fields
    if selection.tenant:
        fields["tenant_id"] = selection.tenant
    if stats:
        rows = await anomalies.stats(claims, selection)
        fields["anomalies_count"] = sum(int(r["count"]) for r in rows)
        return {"stats": [{k: r[k] for k in STATS_FIELDS} for r in rows]}
    rows = await anomalies.recent(claims, selection)
    fields["rows"] = len(rows)
    return {"anomalies": [{k: r[k] for k in ROW_FIELDS} for r in rows]}


@router.post("/anomalies/alerts", summary="Post an aggregate alert when anomalies reach the "
             "threshold", status_code=202,
             responses={200: {"description": "below the threshold: not alerted"},
                        204: {"description": "no webhook configured"},
                        502: {"description": "the webhook failed"}})
async def post_alert(request: Request, settings: SettingsDep, anomalies: AnomaliesDep,
                     claims: OperatorClaims, response: Response) -> Any:
    if not settings.alert_webhook:
        return Response(status_code=204)
    webhook = validate_webhook(settings.alert_webhook)
    selection = AnomalyFilter(window_hours=settings.alert_window_hours, limit=None)
    stats = await anomalies.stats(claims, selection)
    summary = summarize(stats, window_hours=settings.alert_window_hours,
                        threshold=settings.alert_min_count)
    request.state.log_fields["anomalies_count"] = summary.total
    if not summary.due:
        response.status_code = 200
        return {"alerted": False, **summary.as_dict()}
    await send_alert(webhook, summary)
    return {"alerted": True, **summary.as_dict()}


AnomalyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the anomaly's id")]


def _status_route(status: str, summary: str) -> None:
    """POST /anomalies/{id}/<step>: move one anomaly to `status`."""
    step = {"acknowledged": "acknowledge", "resolved": "resolve"}[status]

    @router.post(f"/anomalies/{{anomaly_id}}/{step}", summary=summary, name=f"{step}_anomaly")
    async def set_status(request: Request, anomalies: AnomaliesDep, claims: OperatorClaims,
                         anomaly_id: AnomalyId) -> dict[str, Any]:
        row = await anomalies.set_status(claims, anomaly_id, status)
        request.state.log_fields["tenant_id"] = row["tenant_id"]
        return row


_status_route("acknowledged", "Acknowledge an anomaly")
_status_route("resolved", "Mark an anomaly resolved")
