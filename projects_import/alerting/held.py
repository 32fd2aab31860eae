"""The `held` alert (SPEC §10): a batch over its tenant's audit limits was staged, not
published. It goes to the alert webhook as a delivery of kind `held` — signed, retried and
logged like the others, and suppressed like them: the same batch is not alerted again within
ANOMALIES_ALERT_SUPPRESS_HOURS (a re-send of a held batch does not alert twice).

The body holds ids, counts and the audit's findings only: no names, project keys or values.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import structlog
from psycopg.types.json import Jsonb

from projects_import import __version__
from projects_import.alerting import payload
from projects_import.alerting.engine import AlertConfig, AlertEngine
from projects_import.db.connection import Database
from projects_import.settings import Settings

log = structlog.get_logger("projects_import.alerts")

_posting: set[asyncio.Task[None]] = set()


def held_body(tenant_id: str, batch_id: str, audit: Mapping[str, Any],
              metrics: Mapping[str, Any], public_url: str | None) -> dict[str, Any]:
    """What a held alert says."""
    path = f"/dashboard/imports?tenant={quote(tenant_id, safe='')}&batch_state=held"
    findings = [{"check": f["check"], "observed": float(f["observed"]),
                 "limit": float(f["limit"])} for f in audit.get("findings") or []]
    checks = ", ".join(f"{f['check']} {f['observed']:.0%} > {f['limit']:.0%}" for f in findings)
    return {
        "source": payload.SOURCE, "version": __version__, "kind": "held",
        "generated_at": payload.iso(datetime.now(UTC)),
        "tenant_id": tenant_id, "batch_id": batch_id, "findings": findings,
        "would": {name: metrics.get(name) for name in (
            "rows", "inserted_projects", "updated_projects", "memberships_ended",
            "anomalies_count")},
        "reasons": [f["check"] for f in findings],
        "dashboard_url": f"{public_url.rstrip('/')}{path}" if public_url else path,
        "text": f"projects-import: batch {batch_id} of tenant {tenant_id} held for review "
                f"({checks})",
    }


async def queue_held(db: Database, config: AlertConfig, tenant_id: str, batch_id: str,
                     audit: Mapping[str, Any], metrics: Mapping[str, Any]) -> int | None:
    """Queue the held alert unless none is configured or it is suppressed; its id."""
    if config.webhooks.get("held") is None:
        return None
    body = held_body(tenant_id, batch_id, audit, metrics, config.public_url)
    fingerprint = hashlib.sha256(
        f"{config.target('held')}|{tenant_id}|{batch_id}".encode()).hexdigest()
    row = await db.fetch_one(
        "alert_held_insert", tenant_id=tenant_id, fingerprint=fingerprint, batch_id=batch_id,
        reasons=body["reasons"], body=Jsonb(body), suppress_hours=config.suppress_hours)
    return None if row is None else int(row["id"])


async def alert_held(db: Database, settings: Settings, tenant_id: str, batch_id: str,
                     audit: Mapping[str, Any], metrics: Mapping[str, Any]) -> None:
    """Queue and post the held alert; a failure is logged (the retry job posts it later)."""
    try:
        config = AlertConfig.from_settings(settings)
        delivery = await queue_held(db, config, tenant_id, batch_id, audit, metrics)
        if delivery is not None:
            await AlertEngine(db, config).deliver([delivery])
    except Exception as exc:
        log.warning("held_alert_not_sent", tenant_id=tenant_id, batch_id=batch_id,
                    error_type=type(exc).__name__)


def alert_held_later(db: Database, settings: Settings, tenant_id: str, batch_id: str,
                     audit: Mapping[str, Any], metrics: Mapping[str, Any]) -> None:
    """alert_held after the answer (the 202 does not wait for the webhook)."""
    task = asyncio.create_task(alert_held(db, settings, tenant_id, batch_id, audit, metrics))
    _posting.add(task)
    task.add_done_callback(_posting.discard)
