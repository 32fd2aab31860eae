"""What an alert or escalation says: counts, categories, problem and batch ids, a dashboard
link and a `text` line a chat webhook shows as it is — never names, project keys, unknown
values or payload excerpts (a webhook is a third party).

The first fields (`source`, `version`, `window_hours`, `window_start`, `generated_at`,
`threshold`, `total`, `by_type`, `by_severity`, `by_tenant`) are those of SPEC §4.3's
aggregate, so receivers written for it keep working.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from projects_import import __version__

MAX_IDS = 100  # ids listed in one body; the totals say how many there are
SOURCE = "projects-import"

_REASONS = {
    "occurrences": "new occurrences reached the threshold",
    "errors": "error-severity occurrences reached the threshold",
    "overdue": "problems are past their SLA",
    "consecutive_windows": "alerting for consecutive windows",
    "ds_rm_problems_24h": "too many DS/RM problems in 24 h",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def dashboard_link(public_url: str | None, tenant_id: str) -> str:
    """The console worklist of the tenant's open problems: absolute with
    PROJECTS_IMPORT_PUBLIC_URL, else a path."""
    path = f"/dashboard/problems?tenant={quote(tenant_id, safe='')}"
    return f"{public_url.rstrip('/')}{path}" if public_url else path


def build(figures: Mapping[str, Any], kind: str, *, window_hours: int,
          threshold: int | None, public_url: str | None,
          generated_at: datetime) -> dict[str, Any]:
    """The body of one delivery from one `fn_alert_evaluate` row."""
    tenant_id = str(figures["tenant_id"])
    if kind == "escalation":
        problem_ids = [int(i) for i in figures["escalation_problem_ids"]]
        reasons = list(figures["escalation_reasons"])
    else:
        problem_ids = [int(i) for i in figures["problem_ids"]]
        reasons = list(figures["reasons"])
    batch_ids = [str(b) for b in figures["batch_ids"]]
    link = dashboard_link(public_url, tenant_id)
    body: dict[str, Any] = {
        "source": SOURCE,
        "version": __version__,
        "window_hours": window_hours,
        "window_start": iso(figures["window_start"]),
        "generated_at": iso(generated_at),
        "threshold": threshold,
        "total": int(figures["occurrences"]),
        "by_type": dict(figures["by_type"]),
        "by_severity": dict(figures["by_severity"]),
        "by_tenant": {tenant_id: int(figures["occurrences"])},
        "kind": kind,
        "tenant_id": tenant_id,
        "window_end": iso(figures["window_end"]),
        "reasons": reasons,
        "errors": int(figures["errors"]),
        "open_problems": int(figures["open_problems"]),
        "new_problems": int(figures["new_problems"]),
        "overdue_problems": int(figures["overdue"]),
        "consecutive_windows": int(figures["consecutive_windows"]),
        "ds_rm_problems_24h": int(figures["ds_rm_problems_24h"]),
        "problem_ids": problem_ids[:MAX_IDS],
        "problem_ids_total": len(problem_ids),
        "batch_ids": batch_ids[:MAX_IDS],
        "batch_ids_total": len(batch_ids),
        "dashboard_url": link,
    }
    body["text"] = text(body)
    return body


def text(body: Mapping[str, Any]) -> str:
    """One line for a chat webhook (Slack, Teams, Mattermost show `text` as it is)."""
    head = "ESCALATION" if body["kind"] == "escalation" else "alert"
    why = "; ".join(_REASONS.get(reason, reason) for reason in body["reasons"])
    types = ", ".join(f"{name} {count}" for name, count in sorted(body["by_type"].items()))
    state = (f"{body['open_problems']} open problem(s), {body['overdue_problems']} overdue")
    if body["kind"] == "escalation":
        state += (f"; {body['consecutive_windows']} alerting window(s) in a row, "
                  f"{body['ds_rm_problems_24h']} DS/RM problem(s) in 24 h")
    return (f"projects-import {head} for tenant {body['tenant_id']}: {why}. "
            f"{body['total']} new occurrence(s) ({body['errors']} error) in the last "
            f"{body['window_hours']} h{' — ' + types if types else ''}; {state}. "
            f"Problems: {body['problem_ids_total']}, batches: {body['batch_ids_total']}. "
            f"{body['dashboard_url']}")


def encode(body: Mapping[str, Any]) -> bytes:
    """The exact bytes posted (and signed)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
