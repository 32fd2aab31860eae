"""pg_cron: the migration schedules `imports-anomalies-retention`, and the service stands down.

Runs only when PROJECTS_IMPORT_TEST_PGCRON_URL names a database of a PostgreSQL server with
pg_cron preloaded (`shared_preload_libraries = 'pg_cron'`) whose `cron.database_name` is that
database; the test creates the extension there and migrates it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from projects_import.db import migrations
from projects_import.db.connection import Database
from projects_import.operations.scheduler import run_retention_job
from projects_import.operations.verify import verify

PGCRON_URL = os.environ.get("PROJECTS_IMPORT_TEST_PGCRON_URL", "")

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(
        not PGCRON_URL, reason="set PROJECTS_IMPORT_TEST_PGCRON_URL to a pg_cron database"),
]

DEFAULT = ("10 3 * * *", "select public.fn_cleanup_import_data();")


@pytest.fixture
def cron_db() -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(PGCRON_URL, autocommit=True) as conn:
        conn.execute("create extension if not exists pg_cron")
    migrations.migrate(PGCRON_URL)
    with psycopg.connect(PGCRON_URL, autocommit=True, row_factory=dict_row) as conn:
        yield conn
        conn.execute("select public.fn_schedule_import_retention()")


def jobs(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    rows = conn.execute("select schedule, command from cron.job "
                        "where jobname = 'imports-anomalies-retention' "
                        "and database = current_database()").fetchall()
    return [(r["schedule"], r["command"]) for r in rows]


def test_migration_scheduled_the_job(cron_db) -> None:
    assert jobs(cron_db) == [DEFAULT]
    job = cron_db.execute("select public.fn_import_retention_cron_job() as j").fetchone()
    assert job is not None
    assert (job["j"]["schedule"], job["j"]["command"]) == DEFAULT


def test_scheduling_again_keeps_one_job(cron_db) -> None:
    cron_db.execute("select public.fn_schedule_import_retention()")
    cron_db.execute("select public.fn_schedule_import_retention()")
    assert jobs(cron_db) == [DEFAULT]


def test_runbook_override_reschedules(cron_db) -> None:
    cron_db.execute("select cron.unschedule(jobid) from cron.job "
                    "where jobname = 'imports-anomalies-retention'")
    cron_db.execute("select cron.schedule('imports-anomalies-retention', '15 2 * * *', "
                    "'select public.fn_cleanup_import_data(45, 75);')")
    assert jobs(cron_db) == [("15 2 * * *", "select public.fn_cleanup_import_data(45, 75);")]
    cron_db.execute("select public.fn_cleanup_import_data(45, 75)")


def test_service_scheduler_stands_down(cron_db) -> None:
    assert run_retention_job(PGCRON_URL).outcome == "pg_cron"


def test_verify_names_the_pg_cron_job(cron_db) -> None:
    async def go() -> Any:
        async with Database(PGCRON_URL, max_size=1) as db:
            return await verify(db)

    checks = asyncio.run(go())
    schedule = next(c for c in checks.items if c.name == "retention schedule")
    assert "pg_cron job imports-anomalies-retention (10 3 * * *)" in schedule.detail
