"""A database that went away answers 503 `database_unavailable` with `Retry-After`, not 500.

Errors the connector translates arrive as `DatabaseUnavailable` and take the common handler;
this one catches what it cannot translate — no pooled connection in time (`PoolTimeout`), a
connection lost while taking or committing it — and answers the same. Any other database
error stays a 500.
"""

from __future__ import annotations

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from projects_import.api.errors import error_response
from projects_import.db.errors import unavailable

log = structlog.get_logger("projects_import.api")


def install_unavailable_handler(app: FastAPI) -> None:
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        error = unavailable(exc)
        if error is None:
            raise exc  # the request middleware answers 500
        log.warning("database_unavailable", error_type=type(exc).__name__,
                    sqlstate=getattr(exc, "sqlstate", None))
        return error_response(request, error)

    app.add_exception_handler(psycopg.OperationalError, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)
