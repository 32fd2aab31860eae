"""The in-process retention scheduler: the job, its single-runner lock, its schedule."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import psycopg
import pytest

from projects_import.operations.scheduler import (
    retention_trigger,
    run_retention_job,
    start_scheduler,
)
from projects_import.vocabulary import RETENTION_JOB

pytestmark = pytest.mark.engine  # the scheduler's advisory lock


def old_staging(db: psycopg.Connection[Any], count: int, days: int) -> None:
    db.execute(
        "insert into staging_imports (tenant_id, batch_id, source, raw, batch_checksum, "
        "row_count, correlation_id, created_at) "
        "select 'TELCO', gen_random_uuid(), 'test', '{}', md5(random()::text || i), 1, "
        "gen_random_uuid(), now() - make_interval(days => %s) from generate_series(1, %s) i",
        (days, count))


def staging_count(db: psycopg.Connection[Any]) -> int:
    row = db.execute("select count(*) as n from staging_imports").fetchone()
    assert row is not None
    return int(row["n"])


def test_job_runs_the_cleanup(db, database_url, tenant) -> None:
    old_staging(db, 3, 61)
    old_staging(db, 2, 59)

    run = run_retention_job(database_url, chunk_size=2)

    assert run.outcome == "ran"
    assert run.cleanup is not None
    assert run.cleanup.staging_imports_deleted == 3
    assert run.cleanup.complete
    assert staging_count(db) == 2
    row = db.execute("select sum(staging_imports_count) as n from import_retention_stats")
    assert row.fetchone() == {"n": 3}
    lock = db.execute("select count(*) as n from pg_locks l join pg_database d "
                      "on d.oid = l.database and d.datname = current_database() "
                      "where l.locktype = 'advisory' and l.classid = 7302").fetchone()
    assert lock == {"n": 0}, "the job releases its lock"


def test_job_skips_while_another_replica_holds_the_lock(db, database_url, tenant) -> None:
    old_staging(db, 2, 61)
    # The other replica is inside a chunk: its transaction holds the lock (and, through a
    # transaction-mode pooler, its server connection).
    with psycopg.connect(database_url) as replica, replica.transaction():
        replica.execute("select pg_advisory_xact_lock(7302, 1)")
        run = run_retention_job(database_url)
        assert run.outcome == "locked"
        assert run.cleanup is None
        assert staging_count(db) == 2
    assert run_retention_job(database_url).outcome == "ran"
    assert staging_count(db) == 0


def test_a_stop_request_ends_the_run_between_chunks(db, database_url, tenant) -> None:
    old_staging(db, 4, 61)
    stop = threading.Event()
    stop.set()
    run = run_retention_job(database_url, chunk_size=2, stop=stop)
    assert run.outcome == "ran"
    assert run.cleanup is not None and not run.cleanup.complete
    assert staging_count(db) == 4


def test_fires_daily_at_0310_utc() -> None:
    trigger = retention_trigger()
    before = dt.datetime(2025, 8, 18, 3, 9, tzinfo=dt.UTC)
    after = dt.datetime(2025, 8, 18, 3, 11, tzinfo=dt.UTC)
    assert trigger.get_next_fire_time(None, before) == dt.datetime(
        2025, 8, 18, 3, 10, tzinfo=dt.UTC)
    assert trigger.get_next_fire_time(None, after) == dt.datetime(
        2025, 8, 19, 3, 10, tzinfo=dt.UTC)
    # a UTC schedule: the same instant whatever the local offset of the caller
    adelaide = dt.timezone(dt.timedelta(hours=9, minutes=30))
    assert trigger.get_next_fire_time(None, before.astimezone(adelaide)) == dt.datetime(
        2025, 8, 18, 3, 10, tzinfo=dt.UTC)


def test_started_scheduler_holds_the_job(settings, database_url) -> None:
    scheduler = start_scheduler(database_url)
    try:
        job = scheduler.scheduler.get_job(RETENTION_JOB)
        assert job is not None and job.name == RETENTION_JOB
        next_run = scheduler.next_run_time()
        assert next_run is not None
        utc = next_run.astimezone(dt.UTC)
        assert (utc.hour, utc.minute, utc.second) == (3, 10, 0)
        assert dt.timedelta(0) < utc - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1)
    finally:
        scheduler.shutdown()
    assert not scheduler.scheduler.running


def test_the_service_runs_the_scheduler_while_it_is_up(settings, make_server) -> None:
    def scheduler_threads() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "APScheduler")

    assert scheduler_threads() == 0
    server = make_server(settings.model_copy(update={"scheduler_enabled": True}))
    assert scheduler_threads() == 1
    server.stop()
    assert scheduler_threads() == 0
