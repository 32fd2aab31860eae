"""The SQLSTATE table (db/errors.py) for the states of issue 15, raised by a real server."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from projects_import.db.connection import translated
from projects_import.db.errors import domain_error, unavailable
from projects_import.errors import DuplicateInRequest, RetryLater


def test_cardinality_violation_is_a_clear_400(db: psycopg.Connection[Any]) -> None:
    db.execute("create temp table t (k text primary key, v text)")
    with pytest.raises(DuplicateInRequest) as caught, translated():
        db.execute("insert into t select x, x from unnest(array['a', 'a']) x "
                   "on conflict (k) do update set v = excluded.v")
    assert caught.value.http_status == 400
    assert caught.value.code == "duplicate_in_request"
    assert "same record twice" in caught.value.message


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_rolled_back_for_a_concurrent_writer_is_503_retry(db: psycopg.Connection[Any],
                                                         sqlstate: str) -> None:
    with pytest.raises(psycopg.Error) as raised:
        db.execute(f"do $$ begin raise exception 'x' using errcode = '{sqlstate}'; end $$")
    error = domain_error(raised.value)
    assert isinstance(error, RetryLater)
    assert (error.http_status, error.code) == (503, "retry")
    assert error.headers["Retry-After"] == str(RetryLater.RETRY_AFTER_SECONDS)
    # raised where nothing translates it (e.g. a COMMIT): the same answer
    assert isinstance(unavailable(raised.value), RetryLater)
