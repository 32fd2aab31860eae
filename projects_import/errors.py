"""The one error family: every refusal the service or the CLI can explain is a
`ProjectsImportError` carrying a machine `code`, a `message` fit for the user, an HTTP status
hint, and optionally contract `violations` and response `headers`.

The API maps the family to its JSON error shape in one handler (`api/errors.py`) and the CLI to
one `error:` line in one place (`cli/runtime.py`); anything else is a fault, never shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ProjectsImportError(Exception):
    """Base of every expected error. Subclasses set the class defaults `code` and
    `http_status`; an instance may override both."""

    code = "error"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        violations: Sequence[Any] = (),
        violations_total: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.violations = list(violations)
        # more than `violations` when only the first ones were kept (a worker's refusal)
        self.violations_total = (len(self.violations) if violations_total is None
                                 else violations_total)
        self.headers = dict(headers or {})


# Domain errors the database's SQLSTATEs map to (see `db/errors.py`).
class Forbidden(ProjectsImportError):
    """The caller's role does not allow this (SQLSTATE 42501)."""

    code = "forbidden"
    http_status = 403


class Unauthorized(ProjectsImportError):
    """No credential, or one that is not valid here (a bearer secret, a user token)."""

    code = "unauthorized"
    http_status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class NotFound(ProjectsImportError):
    """Nothing with that key is visible to the caller (SQLSTATE P0002)."""

    code = "not_found"
    http_status = 404


class Conflict(ProjectsImportError):
    """The current state does not allow the step (SQLSTATE 55000)."""

    code = "conflict"
    http_status = 409


class Duplicate(ProjectsImportError):
    """A row with that key exists already (SQLSTATE 23505)."""

    code = "duplicate"
    http_status = 409


class InvalidInput(ProjectsImportError):
    """A value the database refuses (SQLSTATE class 22: data exceptions)."""

    code = "invalid_input"
    http_status = 400


class DatabaseUnavailable(ProjectsImportError):
    """The database went away: a connection lost mid-request (restart, terminated backend,
    network cut: SQLSTATE class 08, 57P01-57P03) or none within the pool's timeout. The
    transaction did not commit — unless the connection died during the COMMIT itself — so
    the request is to be sent again; an import that did commit then answers as a replay."""

    code = "database_unavailable"
    http_status = 503
    RETRY_AFTER_SECONDS = 2

    def __init__(self, message: str | None = None) -> None:
        # the database's own words (e.g. "terminating connection due to administrator
        # command") say nothing useful to a client: one message for every cause
        del message
        super().__init__(
            "the database is unreachable or restarting; the request was not completed. Send "
            f"it again after {self.RETRY_AFTER_SECONDS} s (an import that was stored after all "
            "answers as a replay)",
            headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)})


class RetryLater(ProjectsImportError):
    """The transaction met a concurrent one writing the same rows and PostgreSQL rolled it
    back to let the other finish (SQLSTATE 40P01 deadlock_detected, 40001
    serialization_failure). Nothing was written; the same request succeeds when sent again."""

    code = "retry"
    http_status = 503
    RETRY_AFTER_SECONDS = 1

    def __init__(self, message: str | None = None) -> None:
        del message  # the database's words name internal lock ids: one message for both
        super().__init__(
            "the request met a concurrent change of the same records and was rolled back; "
            f"nothing was written. Send it again after {self.RETRY_AFTER_SECONDS} s",
            headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)})


class DuplicateInRequest(ProjectsImportError):
    """One statement was given the same record twice (SQLSTATE 21000 cardinality_violation,
    e.g. two directory rows whose keys are equal once normalized)."""

    code = "duplicate_in_request"
    http_status = 400

    def __init__(self, message: str | None = None) -> None:
        detail = f" ({message})" if message else ""
        super().__init__(
            "the request gives the same record twice (two rows whose keys are equal once "
            f"normalized: case, spaces); nothing was written{detail}")


class InvalidParameters(ProjectsImportError):
    """A query string the request cannot use: a parameter it does not take, one given twice,
    or a value it refuses (`invalid_parameters`)."""

    code = "invalid_parameters"
    http_status = 400
