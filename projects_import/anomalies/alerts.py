"""Aggregate anomaly alerts to a webhook (SPEC §4.3).

The payload carries counts by anomaly type, severity and tenant, the window and the time —
never rows, payload excerpts, project keys or names. The webhook must be HTTPS; plain HTTP is
accepted only for a loopback address (a receiver on the same host), so counts never cross a
network in clear text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from projects_import import __version__
from projects_import.anomalies.manager import totals
from projects_import.errors import ProjectsImportError
from projects_import.vocabulary import is_loopback

DEFAULT_TIMEOUT_SECONDS = 10.0


class WebhookConfigError(ProjectsImportError):
    """ANOMALIES_ALERT_WEBHOOK is not an acceptable URL."""

    code = "alert_webhook_invalid"
    http_status = 502


class WebhookDeliveryError(ProjectsImportError):
    """The webhook could not be reached or did not accept the alert."""

    code = "alert_webhook_failed"
    http_status = 502


def validate_webhook(url: str) -> str:
    """The webhook URL when acceptable: https://host/…, or http:// to a loopback address."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number
    except ValueError as exc:
        raise WebhookConfigError("ANOMALIES_ALERT_WEBHOOK is not a valid URL") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise WebhookConfigError(
            "ANOMALIES_ALERT_WEBHOOK must be an https:// URL with a host "
            "(plain http:// only for a loopback address such as 127.0.0.1)")
    if parts.scheme == "http" and not is_loopback(host):
        raise WebhookConfigError(
            "ANOMALIES_ALERT_WEBHOOK must use https://; plain http:// is accepted only for "
            "loopback addresses (127.0.0.0/8, ::1, localhost)")
    return url.strip()


@dataclass(frozen=True)
class AlertSummary:
    """The aggregate over one window, and whether it reaches the threshold."""

    window_hours: int
    threshold: int
    total: int
    by_type: dict[str, int]
    by_severity: dict[str, int]
    by_tenant: dict[str, int]
    generated_at: datetime

    @property
    def due(self) -> bool:
        return self.total >= self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": "projects-import",
            "version": __version__,
            "window_hours": self.window_hours,
            "window_start": _iso(self.generated_at - timedelta(hours=self.window_hours)),
            "generated_at": _iso(self.generated_at),
            "threshold": self.threshold,
            "total": self.total,
            "by_type": self.by_type,
            "by_severity": self.by_severity,
            "by_tenant": self.by_tenant,
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def summarize(stats: Sequence[Mapping[str, Any]], *, window_hours: int, threshold: int,
              now: datetime | None = None) -> AlertSummary:
    """Fold `fn_anomalies_stats` rows into the alert's counts (nothing but counts)."""
    folded = totals(stats)
    return AlertSummary(
        window_hours=window_hours,
        threshold=threshold,
        total=sum(folded["by_type"].values()),
        by_type=folded["by_type"],
        by_severity=folded["by_severity"],
        by_tenant=folded["by_tenant"],
        generated_at=now or datetime.now(UTC),
    )


async def send_alert(url: str, summary: AlertSummary, *,
                     timeout: float = DEFAULT_TIMEOUT_SECONDS) -> int:
    """POST the aggregate to the webhook; its HTTP status when it is 2xx.

    Redirects are not followed (a redirect could lead off HTTPS), and the URL is never put in
    an error message: webhook URLs often carry a token in their path.
    """
    target = validate_webhook(url)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(target, json=summary.as_dict(),
                                         headers={"User-Agent": f"projects-import/{__version__}"})
    except httpx.HTTPError as exc:
        raise WebhookDeliveryError(
            f"the alert webhook could not be reached ({type(exc).__name__})") from exc
    if not response.is_success:
        raise WebhookDeliveryError(
            f"the alert webhook answered HTTP {response.status_code}; the alert was not accepted")
    return response.status_code
