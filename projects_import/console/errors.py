"""What the console tells a user when the database or the form says no."""

from __future__ import annotations

import psycopg


class ConsoleError(Exception):
    """A request the console cannot do, with a message fit for the page and an HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# SQLSTATE → HTTP status for what the console's RPCs raise.
_STATUSES = {"42501": 403, "P0002": 404, "55000": 409, "22023": 400, "22P02": 400,
             "22007": 400, "22008": 400, "23505": 409, "23514": 400}


def from_database(exc: psycopg.Error) -> ConsoleError:
    """The database's refusal as a ConsoleError naming what was wrong (never a traceback)."""
    sqlstate = exc.sqlstate or ""
    status = _STATUSES.get(sqlstate)
    if status is None:
        raise exc
    primary = exc.diag.message_primary or "the database refused the request"
    if sqlstate == "42501":
        primary = "your role may not do this: " + primary.removeprefix("insufficient_privilege: ")
    return ConsoleError(primary, status)
