"""Evaluate the alert rules, queue deliveries, post them, and retry the ones that failed.

One evaluation runs at a time across replicas (a transaction advisory lock taken with the
evaluation, `fn_alert_evaluate`, and the inserts of the deliveries it decides on). Posting
happens after that transaction commits: each delivery is first *claimed* (its attempt counted
and leased for a while, `for update skip locked`), then posted, then its outcome recorded —
so a crash between the two leaves a delivery that the retry job picks up again, and two
replicas never post the same one at once.

Suppression (`fn_alert_evaluate`): the same problems to the same webhook are not delivered
again within ANOMALIES_ALERT_SUPPRESS_HOURS; while such a delivery still waits for a retry,
an evaluation posts that one again now instead of queueing another.

A failed attempt is retried with exponential backoff (`backoff_seconds` times 1, 2, 4, 8, …) until
`max_attempts`, then the delivery is `failed`; a failed delivery does not suppress a later
alert about the same problems.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from psycopg.types.json import Jsonb

from projects_import.alerting import payload
from projects_import.alerting.webhook import PostResult, post, validate_webhook
from projects_import.db.connection import Database
from projects_import.settings import Settings

log = structlog.get_logger("projects_import.alerts")

KINDS = ("alert", "escalation", "held")
ESCALATE_AFTER_WINDOWS = 3        # the runbook: ">= 3 consecutive alert windows"
ESCALATE_DS_RM_PROBLEMS = 10      # the runbook: "DS/RM mapping failures exceed 10 in 24 h"
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 60.0
LEASE_SECONDS = 120
CLAIM_LIMIT = 50


@dataclass(frozen=True)
class AlertConfig:
    """The alert settings (SPEC §2, §9) as the engine uses them."""

    window_hours: int
    webhooks: Mapping[str, str | None]   # kind → URL (validated), None when not configured
    secret: str | None = field(default=None, repr=False)
    min_count: int | None = None
    suppress_hours: float = 4.0
    public_url: str | None = None
    max_attempts: int = MAX_ATTEMPTS
    backoff_seconds: float = BACKOFF_SECONDS
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> AlertConfig:
        """Raises WebhookConfigError for a webhook that is not https (or loopback http)."""
        webhooks = {
            "alert": (validate_webhook(settings.alert_webhook)
                      if settings.alert_webhook else None),
            "escalation": (validate_webhook(settings.escalation_webhook,
                                            "ANOMALIES_ESCALATION_WEBHOOK")
                           if settings.escalation_webhook else None),
        }
        webhooks["held"] = webhooks["alert"]  # a held batch (0037) goes to the alert webhook
        values: dict[str, Any] = {
            "window_hours": settings.alert_window_hours, "webhooks": webhooks,
            "secret": settings.alert_secret, "min_count": settings.alert_min_count,
            "suppress_hours": settings.alert_suppress_hours,
            "public_url": settings.public_url,
        }
        values.update(overrides)
        return cls(**values)

    def target(self, kind: str) -> str:
        """A digest naming the webhook of a kind, so suppression is per destination (a
        changed webhook gets the alert) without storing the URL, which may hold a token."""
        url = self.webhooks.get(kind)
        return hashlib.sha256(url.encode()).hexdigest()[:16] if url else ""


@dataclass(frozen=True)
class Delivery:
    """One delivery's state after an attempt."""

    tenant_id: str
    id: int
    kind: str
    status: str
    attempts: int
    response_code: int | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "tenant_id": self.tenant_id, "kind": self.kind,
                "status": self.status, "attempts": self.attempts,
                "response_code": self.response_code}


@dataclass
class Evaluation:
    """What one evaluation found and queued."""

    evaluated: bool
    window_hours: int
    threshold: int | None
    generated_at: datetime
    tenants: list[dict[str, Any]] = field(default_factory=list)
    queued: list[tuple[str, int]] = field(default_factory=list)
    suppressed: int = 0

    def summary(self) -> dict[str, Any]:
        """The aggregate over all tenants, in SPEC §4.3's shape, plus each tenant's verdict."""
        by_type: dict[str, int] = {}
        by_severity: dict[str, int] = {}
        for row in self.tenants:
            for name, count in row["by_type"].items():
                by_type[name] = by_type.get(name, 0) + int(count)
            for name, count in row["by_severity"].items():
                by_severity[name] = by_severity.get(name, 0) + int(count)
        return {
            "source": payload.SOURCE,
            "window_hours": self.window_hours,
            "window_start": payload.iso(self.generated_at - timedelta(hours=self.window_hours)),
            "generated_at": payload.iso(self.generated_at),
            "threshold": self.threshold,
            "total": sum(int(row["occurrences"]) for row in self.tenants),
            "by_type": by_type,
            "by_severity": by_severity,
            "by_tenant": {row["tenant_id"]: int(row["occurrences"]) for row in self.tenants},
            "suppressed": self.suppressed,
            "tenants": [{
                "tenant_id": row["tenant_id"], "occurrences": int(row["occurrences"]),
                "errors": int(row["errors"]), "overdue_problems": int(row["overdue"]),
                "alerting": bool(row["alerting"]), "reasons": list(row["reasons"]),
                "escalate": bool(row["escalate"]),
                "escalation_reasons": list(row["escalation_reasons"]),
                "consecutive_windows": int(row["consecutive_windows"]),
            } for row in self.tenants],
        }


class AlertEngine:
    def __init__(self, db: Database, config: AlertConfig) -> None:
        self.db = db
        self.config = config

    async def evaluate(self, *, wait: bool = True) -> Evaluation:
        """Apply the rules now and queue the deliveries they call for. With `wait=False`
        (the scheduler), give up at once when another replica is evaluating."""
        config = self.config
        now = datetime.now(UTC)
        result = Evaluation(False, config.window_hours, config.min_count, now)
        async with self.db.transaction() as tx:
            if wait:
                await tx.execute("alert_lock")
            elif not await tx.fetch_value("alert_try_lock"):
                return result
            result.tenants = await tx.fetch_all(
                "alert_evaluate", window_hours=config.window_hours,
                min_occurrences=config.min_count, suppress_hours=config.suppress_hours,
                escalate_windows=ESCALATE_AFTER_WINDOWS, escalate_ds_rm=ESCALATE_DS_RM_PROBLEMS,
                alert_target=config.target("alert"),
                escalation_target=config.target("escalation"))
            result.evaluated = True
            for row in result.tenants:
                for kind, due in (("alert", row["alerting"]), ("escalation", row["escalate"])):
                    if not due or config.webhooks.get(kind) is None:
                        continue
                    if row[f"{kind}_suppressed"]:
                        result.suppressed += 1
                        continue
                    if row[f"{kind}_pending_id"] is not None:  # post the waiting one now
                        result.queued.append((row["tenant_id"], int(row[f"{kind}_pending_id"])))
                        continue
                    body = payload.build(row, kind, window_hours=config.window_hours,
                                         threshold=config.min_count,
                                         public_url=config.public_url, generated_at=now)
                    queued = await tx.fetch_one(
                        "alert_delivery_insert", tenant_id=row["tenant_id"], kind=kind,
                        fingerprint=row[f"{kind}_fingerprint"], problem_ids=body_ids(row, kind),
                        batch_ids=list(row["batch_ids"]), reasons=body["reasons"],
                        window_start=row["window_start"], window_end=row["window_end"],
                        body=Jsonb(body))
                    assert queued is not None
                    result.queued.append((queued["tenant_id"], int(queued["id"])))
        log.info("alerts_evaluated", window_hours=config.window_hours,
                 tenants=len(result.tenants),
                 alerting=sum(1 for row in result.tenants if row["alerting"]),
                 escalating=sum(1 for row in result.tenants if row["escalate"]),
                 queued=len(result.queued), suppressed=result.suppressed)
        return result

    async def deliver(self, ids: Sequence[int] | None = None) -> list[Delivery]:
        """Post the given deliveries (or every one due) once each and record the outcome."""
        claimed = await self.db.fetch_all(
            "alert_deliveries_claim", ids=list(ids) if ids is not None else None,
            lease_seconds=LEASE_SECONDS, limit=CLAIM_LIMIT)
        return [await self._attempt(row) for row in claimed]

    async def run(self, *, wait: bool = True) -> tuple[Evaluation, list[Delivery]]:
        """Evaluate, then post what was queued."""
        evaluation = await self.evaluate(wait=wait)
        if not evaluation.queued:
            return evaluation, []
        return evaluation, await self.deliver([i for _tenant, i in evaluation.queued])

    async def _attempt(self, row: Mapping[str, Any]) -> Delivery:
        url = self.config.webhooks.get(row["kind"])
        attempts = int(row["attempts"])
        if url is None:
            result = PostResult(None, f"no webhook is configured for {row['kind']} deliveries")
        else:
            result = await post(url, payload.encode(row["body"]), secret=self.config.secret,
                                kind=row["kind"], delivery_id=int(row["id"]),
                                timeout=self.config.timeout)
        if result.delivered:
            status, next_retry = "delivered", None
        elif url is not None and attempts < self.config.max_attempts:
            status = "retrying"
            delay = self.config.backoff_seconds * 2 ** (attempts - 1)
            next_retry = datetime.now(UTC) + timedelta(seconds=delay)
        else:
            status, next_retry = "failed", None
        await self.db.execute(
            "alert_delivery_record", tenant_id=row["tenant_id"], id=row["id"], status=status,
            response_code=result.status_code, last_error=result.error, next_retry_at=next_retry)
        delivery = Delivery(row["tenant_id"], int(row["id"]), row["kind"], status, attempts,
                            result.status_code, result.error)
        log.info("alert_delivery", tenant_id=delivery.tenant_id, delivery_id=delivery.id,
                 kind=delivery.kind, status=status, attempts=attempts,
                 response_code=result.status_code)
        return delivery


def body_ids(row: Mapping[str, Any], kind: str) -> list[int]:
    """Every problem id a delivery is about (the body lists the first MAX_IDS)."""
    ids = row["escalation_problem_ids"] if kind == "escalation" else row["problem_ids"]
    return [int(i) for i in ids]
