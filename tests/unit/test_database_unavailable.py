"""Which database errors mean "the database went away" (503, retryable) and which stay
faults (500)."""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout

from projects_import.db.errors import SQLSTATE_ERRORS, unavailable
from projects_import.errors import DatabaseUnavailable


def test_lost_connections_and_pool_timeouts_are_unavailable() -> None:
    for exc in (PoolTimeout("no connection"), psycopg.OperationalError("server closed"),
                psycopg.errors.AdminShutdown("terminating connection"),
                psycopg.errors.ConnectionFailure("connection failure")):
        error = unavailable(exc)
        assert isinstance(error, DatabaseUnavailable), exc
        assert error.http_status == 503 and error.code == "database_unavailable"
        assert int(error.headers["Retry-After"]) >= 1
        assert "send it again" in error.message.lower()


def test_other_database_errors_stay_faults() -> None:
    for exc in (psycopg.errors.UndefinedFunction("no such function"),
                psycopg.errors.QueryCanceled("statement timeout"),
                psycopg.errors.LockNotAvailable("lock"), ValueError("not a database error")):
        assert unavailable(exc) is None, exc


def test_the_sqlstate_table_names_the_shutdown_codes() -> None:
    assert {state for state, kind in SQLSTATE_ERRORS.items()
            if kind is DatabaseUnavailable} == {"57P01", "57P02", "57P03"}
