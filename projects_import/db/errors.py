"""The one table from PostgreSQL's SQLSTATE to the service's domain errors (PostgREST keeps
one such table too). The connector raises these instead of psycopg's classes, so callers
catch domain errors and never look at a SQLSTATE themselves."""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout

from projects_import.errors import (
    Conflict,
    DatabaseUnavailable,
    Duplicate,
    DuplicateInRequest,
    Forbidden,
    InvalidInput,
    NotFound,
    ProjectsImportError,
    RetryLater,
)

SQLSTATE_ERRORS: dict[str, type[ProjectsImportError]] = {
    "42501": Forbidden,      # insufficient_privilege: RLS or an operator RPC refused the role
    "P0002": NotFound,       # no_data_found
    "55000": Conflict,       # object_not_in_prerequisite_state
    "23505": Duplicate,      # unique_violation
    "21000": DuplicateInRequest,  # cardinality_violation: one upsert given a key twice
    "40P01": RetryLater,     # deadlock_detected: rolled back for a concurrent writer; retry
    "40001": RetryLater,     # serialization_failure: the same
    "57P01": DatabaseUnavailable,  # admin_shutdown: the server is stopping or restarting
    "57P02": DatabaseUnavailable,  # crash_shutdown
    "57P03": DatabaseUnavailable,  # cannot_connect_now: the server is starting
}
# by SQLSTATE class (first two characters) when the code itself is not in the table
SQLSTATE_CLASS_ERRORS: dict[str, type[ProjectsImportError]] = {
    "22": InvalidInput,      # data exception: 22023 invalid_parameter_value, 22P02, 22001, …
    "08": DatabaseUnavailable,  # connection exception
}


def domain_error(exc: psycopg.Error) -> ProjectsImportError | None:
    """The domain error for a database error, or None when it is a fault (left as it is)."""
    state = exc.sqlstate or ""
    kind = SQLSTATE_ERRORS.get(state) or SQLSTATE_CLASS_ERRORS.get(state[:2])
    if kind is None:
        return None
    error = kind(exc.diag.message_primary or "the database refused the request")
    error.sqlstate = state  # type: ignore[attr-defined]
    return error


def unavailable(exc: BaseException) -> DatabaseUnavailable | RetryLater | None:
    """DatabaseUnavailable for an error that means the database is out of reach, also when it
    was raised outside the connector's translation (taking a pooled connection, committing,
    a connection lost without a SQLSTATE); RetryLater for a transaction rolled back for a
    concurrent one (deadlock, serialization failure) wherever it was raised; else None. Both
    answer 503 with `Retry-After`: the request is to be sent again."""
    if isinstance(exc, DatabaseUnavailable | RetryLater):
        return exc
    if isinstance(exc, PoolTimeout):
        return DatabaseUnavailable()
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        if state is not None and SQLSTATE_ERRORS.get(state) is RetryLater:
            return RetryLater()
        if state is None or SQLSTATE_ERRORS.get(state) is DatabaseUnavailable or \
                state.startswith("08"):
            return DatabaseUnavailable()
    return None
