"""Requests refused for load or limits get an HTTP answer, never a bare close.

Three refusals, each a JSON error with `Retry-After`, logged (`request_refused`, with the
request's correlation id) and counted in `projects_import_requests_refused_total{reason}`:

- `overloaded` (503): the server holds its connection limit (`PROJECTS_IMPORT_MAX_CONNECTIONS`,
  never more than the file descriptors allow). Decided when the connection is accepted
  (`api/server.py`); the connection is answered once its request arrives, then closed.
- `client_connections` (429): a peer that is not a trusted proxy already holds
  `PROJECTS_IMPORT_MAX_CONNECTIONS_PER_CLIENT` connections. Decided and answered the same way.
- `client_requests` (429): the client (the forwarded address behind a trusted proxy) already
  has that many requests in flight. Decided here, per request; the connection stays open.

A refused request's body is read (up to the body limit, within the body deadline) before the
answer, so the client reads the answer instead of a reset. `/healthz` and `/readyz` are not
counted per client: a load balancer's probes must not be refused for its own traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from projects_import.api.errors import error_body
from projects_import.settings import Settings

log = structlog.get_logger("projects_import.api")

REFUSED = "refused"  # key in the ASGI scope's `state` set by the server's protocol
EXEMPT = ("/healthz", "/readyz")
CLIENT_RETRY_AFTER = 1


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str
    retry_after: int
    close: bool


def refusal(reason: str, settings: Settings, limit: int) -> Refusal:
    per_client = settings.max_connections_per_client
    if reason == "overloaded":
        return Refusal(503, "overloaded",
                       f"the service holds its limit of {limit} connections; retry after "
                       f"{settings.retry_after_seconds} second(s)",
                       settings.retry_after_seconds, True)
    if reason == "client_connections":
        return Refusal(429, "too_many_connections",
                       f"this client already holds {per_client} connections "
                       "(PROJECTS_IMPORT_MAX_CONNECTIONS_PER_CLIENT); reuse them, or retry "
                       f"after {CLIENT_RETRY_AFTER} second(s)", CLIENT_RETRY_AFTER, True)
    return Refusal(429, "too_many_requests",
                   f"this client already has {per_client} requests in flight "
                   "(PROJECTS_IMPORT_MAX_CONNECTIONS_PER_CLIENT); retry after "
                   f"{CLIENT_RETRY_AFTER} second(s)", CLIENT_RETRY_AFTER, False)


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings, connection_limit: int) -> None:
        self.app = app
        self.settings = settings
        self.connection_limit = connection_limit
        self.in_flight: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reason = scope.get("state", {}).get(REFUSED)
        if reason is not None:
            await self.refuse(reason, scope, receive, send)
            return
        if scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else ""
        held = self.in_flight.get(client, 0)
        if held >= self.settings.max_connections_per_client:
            await self.refuse("client_requests", scope, receive, send)
            return
        self.in_flight[client] = held + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self.in_flight.get(client, 1) - 1
            if left > 0:
                self.in_flight[client] = left
            else:
                self.in_flight.pop(client, None)

    async def refuse(self, reason: str, scope: Scope, receive: Receive, send: Send) -> None:
        answer = refusal(reason, self.settings, self.connection_limit)
        state = scope.setdefault("state", {})
        state.setdefault("log_fields", {})["error_code"] = answer.code
        correlation_id = str(state.get("correlation_id", ""))
        log.warning("request_refused", reason=reason, status=answer.status,
                    correlation_id=correlation_id, path=scope.get("path"))
        services = getattr(getattr(scope.get("app"), "state", None), "services", None)
        if services is not None:
            services.metrics.refused.labels(reason=reason).inc()
        await _drain(receive, self.settings.max_body_bytes, self.settings.body_timeout_seconds)
        body = json.dumps(error_body(answer.code, answer.message, correlation_id)).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode()),
                   (b"retry-after", str(answer.retry_after).encode())]
        if answer.close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, limit: int, timeout: float) -> None:
    """Read and drop the request's body (at most `limit` bytes, within `timeout`)."""

    async def run() -> None:
        total = 0
        while True:
            message: dict[str, Any] = dict(await receive())
            if message["type"] != "http.request":
                return
            total += len(message.get("body", b""))
            if not message.get("more_body") or total > limit:
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run(), timeout)
