"""Posting one signed alert body to a webhook.

Webhook URLs must be HTTPS; plain HTTP is accepted only for a loopback address (a receiver
on the same host), so alerts never cross a network in clear text. Redirects are not
followed (one could lead off HTTPS), and a URL is never put in a message or a log line:
webhook URLs often carry a token in their path.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from projects_import import __version__
from projects_import.errors import ProjectsImportError
from projects_import.vocabulary import is_loopback

SIGNATURE_HEADER = "X-Projects-Import-Signature"
DEFAULT_TIMEOUT_SECONDS = 10.0

# httpx logs every request's full URL at INFO; a webhook URL often carries a token.
logging.getLogger("httpx").setLevel(logging.WARNING)


class WebhookConfigError(ProjectsImportError):
    """A webhook setting is not an acceptable URL."""

    code = "alert_webhook_invalid"
    http_status = 502


class WebhookDeliveryError(ProjectsImportError):
    """A webhook could not be reached or did not accept a delivery."""

    code = "alert_webhook_failed"
    http_status = 502


def validate_webhook(url: str, variable: str = "ANOMALIES_ALERT_WEBHOOK") -> str:
    """The webhook URL when acceptable: https://host/…, or http:// to a loopback address."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number
    except ValueError as exc:
        raise WebhookConfigError(f"{variable} is not a valid URL") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise WebhookConfigError(
            f"{variable} must be an https:// URL with a host "
            "(plain http:// only for a loopback address such as 127.0.0.1)")
    if parts.scheme == "http" and not is_loopback(host):
        raise WebhookConfigError(
            f"{variable} must use https://; plain http:// is accepted only for "
            "loopback addresses (127.0.0.0/8, ::1, localhost)")
    return url.strip()


def signature(body: bytes, secret: str) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`, the value of the signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PostResult:
    """One attempt: the HTTP status when the webhook answered, else what went wrong."""

    status_code: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(url: str, body: bytes, *, secret: str | None, kind: str, delivery_id: int,
               timeout: float = DEFAULT_TIMEOUT_SECONDS) -> PostResult:
    """POST the body once; never raises for a network or HTTP failure."""
    headers = {"Content-Type": "application/json",
               "User-Agent": f"projects-import/{__version__}",
               "X-Projects-Import-Event": kind,
               "X-Projects-Import-Delivery": str(delivery_id)}
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return PostResult(None, f"the webhook could not be reached ({type(exc).__name__})")
    if 200 <= response.status_code < 300:
        return PostResult(response.status_code)
    return PostResult(response.status_code,
                      f"the webhook answered HTTP {response.status_code}")
