"""The one table from PostgreSQL's SQLSTATE to the service's domain errors (PostgREST keeps
one such table too). The connector raises these instead of psycopg's classes, so callers
catch domain errors and never look at a SQLSTATE themselves."""

from __future__ import annotations

import psycopg

from projects_import.errors import (
    Conflict,
    Duplicate,
    Forbidden,
    InvalidInput,
    NotFound,
    ProjectsImportError,
)

SQLSTATE_ERRORS: dict[str, type[ProjectsImportError]] = {
    "42501": Forbidden,      # insufficient_privilege: RLS or an operator RPC refused the role
    "P0002": NotFound,       # no_data_found
    "55000": Conflict,       # object_not_in_prerequisite_state
    "23505": Duplicate,      # unique_violation
}
# by SQLSTATE class (first two characters) when the code itself is not in the table
SQLSTATE_CLASS_ERRORS: dict[str, type[ProjectsImportError]] = {
    "22": InvalidInput,      # data exception: 22023 invalid_parameter_value, 22P02, 22001, …
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
