"""The error shape every 4xx/5xx answers with, and the one handler per kind that guarantees it.

`{"error": {"code", "message", "correlation_id"}}`, plus `violations` for contract errors.
Every `ProjectsImportError` is answered from its own `code`, `message`, `http_status` and
`headers`; no traceback or exception text from the server reaches a client.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from projects_import.auth import bearer_from
from projects_import.errors import ProjectsImportError
from projects_import.imports.contract import MAX_VIOLATIONS, Violation


class ApiError(ProjectsImportError):
    """A refusal only HTTP has (a missing bearer, a body over the limit…)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        violations: Sequence[Violation] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code, http_status=status, violations=violations,
                         headers=headers)


def bearer_token(request: Request, expected: str) -> str:
    """The `Authorization: Bearer …` token; a 401 naming what to send when there is none."""
    return bearer_from(request.headers.get("authorization"), expected)


def correlation_id_of(request: Request) -> str:
    """The request's correlation id, assigned once per request."""
    value = getattr(request.state, "correlation_id", None)
    if value is None:
        value = str(uuid.uuid4())
        request.state.correlation_id = value
    return str(value)


def error_body(code: str, message: str, correlation_id: str,
               violations: Sequence[Violation] = (), total: int | None = None
               ) -> dict[str, Any]:
    """`total`: how many violations there are when `violations` holds only the first ones."""
    body: dict[str, Any] = {
        "error": {"code": code, "message": message, "correlation_id": correlation_id}
    }
    if violations:
        body["violations"] = [v.as_dict() for v in violations[:MAX_VIOLATIONS]]
        body["violations_total"] = len(violations) if total is None else total
    return body


def internal_error_body(correlation_id: str) -> dict[str, Any]:
    return error_body(
        "internal_error",
        "unexpected server error; nothing was written. Retry with backoff and quote "
        f"correlation_id {correlation_id} if it persists",
        correlation_id,
    )


def error_response(request: Request, exc: ProjectsImportError) -> JSONResponse:
    """The JSON answer for an expected error; its code also goes to the request's log line."""
    request.state.status = exc.http_status
    fields = getattr(request.state, "log_fields", None)
    if isinstance(fields, dict):
        fields["error_code"] = exc.code
    return JSONResponse(
        error_body(exc.code, exc.message, correlation_id_of(request), exc.violations,
                   exc.violations_total),
        status_code=exc.http_status,
        headers=exc.headers,
    )


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "payload_too_large", 429: "too_many_requests"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProjectsImportError)
    async def _expected(request: Request, exc: ProjectsImportError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _bad_parameters(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'request'}: {err.get('msg')}"
            for err in exc.errors()
        )
        return error_response(request, ApiError(400, "invalid_parameters", problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return error_response(request, ApiError(exc.status_code, code, str(exc.detail),
                                                headers=dict(exc.headers or {})))
