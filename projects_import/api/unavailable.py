"""A database that went away answers 503 with `Retry-After`, not 500.

A connection lost mid-request (server restart, terminated backend, network cut) or no
connection within the pool's timeout is transient: the transaction did not commit, so nothing
was written and the client may send the same request again (`projects-import send` retries
503). Any other database error stays a 500.
"""

from __future__ import annotations

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from projects_import.api.errors import ApiError, error_response

log = structlog.get_logger("projects_import.api")

RETRY_AFTER_SECONDS = 2
# SQLSTATEs of a lost connection: class 08 and the server shutting down or restarting.
_LOST = ("57P01", "57P02", "57P03")


def database_unavailable(exc: BaseException) -> ApiError | None:
    """The 503 for an error that means the database is out of reach, else None."""
    if isinstance(exc, PoolTimeout):
        lost = True
    elif isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        lost = state is None or state.startswith("08") or state in _LOST
    else:
        lost = False
    if not lost:
        return None
    log.warning("database_unavailable", error_type=type(exc).__name__,
                sqlstate=getattr(exc, "sqlstate", None))
    return ApiError(503, "database_unavailable",
                    "the database is unreachable or restarting; nothing was written. Retry "
                    f"after {RETRY_AFTER_SECONDS} s",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def install_unavailable_handler(app: FastAPI) -> None:
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        error = database_unavailable(exc)
        if error is None:
            raise exc  # the request middleware answers 500
        request.state.log_fields["error_code"] = error.code
        return error_response(request, error)

    app.add_exception_handler(psycopg.OperationalError, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)
