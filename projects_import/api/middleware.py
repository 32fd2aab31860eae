"""Per-request context: correlation id, the one log event per request, and the last line of
defence that turns any unexpected error into the error shape (no traceback to the client)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projects_import.api.errors import internal_error_body

log = structlog.get_logger("projects_import.api")

# Fields a route may put into request.state.log_fields; nothing else reaches the log.
LOG_FIELDS = ("tenant_id", "batch_id", "rows", "inserted", "updated", "unchanged",
              "org_memberships_upserted", "user_memberships_upserted", "anomalies_count",
              "parse_ms", "merge_ms", "bytes", "replayed", "error_code")
IMPORT_LOG_FIELDS = ("tenant_id", "batch_id", "rows", "inserted", "updated",
                     "org_memberships_upserted", "user_memberships_upserted", "anomalies_count",
                     "parse_ms", "merge_ms", "bytes")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["correlation_id"] = str(uuid.uuid4())
        state["log_fields"] = {}
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            log.error("unhandled_error", correlation_id=state["correlation_id"],
                      error_type=type(exc).__name__, path=scope.get("path"))
            if response_started:
                raise
            await _send_internal_error(send, state["correlation_id"])
            status = 500
        finally:
            request = Request(scope)
            fields: dict[str, Any] = {k: v for k, v in state["log_fields"].items()
                                      if k in LOG_FIELDS}
            if request.url.path == "/import-projects":
                # SPEC §6: every import event has the same fields, null when not reached
                fields = {name: fields.get(name) for name in IMPORT_LOG_FIELDS} | fields
            if request.url.path not in ("/healthz", "/readyz", "/metrics"):
                log.info("request", method=scope.get("method"), path=request.url.path,
                         status=status, correlation_id=state["correlation_id"],
                         duration_ms=round((time.perf_counter() - started) * 1000, 2), **fields)


async def _send_internal_error(send: Send, correlation_id: str) -> None:
    body = json.dumps(internal_error_body(correlation_id)).encode()
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
