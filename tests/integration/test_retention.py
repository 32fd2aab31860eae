"""fn_cleanup_import_data: retention windows, per-day counters, chunked deletes."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import psycopg
import pytest

from projects_import.db.connection import Database
from projects_import.operations.retention import Retention
from tests.support import batch, project_row, submit

pytestmark = pytest.mark.engine  # retention in SQL, its advisory lock


def cleanup(db: psycopg.Connection[Any], *args: int) -> dict[str, Any]:
    placeholders = ", ".join(["%s"] * len(args))
    row = db.execute(f"select public.fn_cleanup_import_data({placeholders}) as c",
                     args).fetchone()
    assert row is not None
    counts: dict[str, Any] = row["c"]
    return counts


def age_batch(db: psycopg.Connection[Any], staging_id: str, *, staging_days: int,
              anomaly_days: int) -> None:
    db.execute("update staging_imports set created_at = now() - make_interval(days => %s) "
               "where id = %s", (staging_days, staging_id))
    db.execute("update import_anomalies set created_at = now() - make_interval(days => %s) "
               "where staging_id = %s", (anomaly_days, staging_id))


def old_rows(db: psycopg.Connection[Any], tenant_id: str, count: int, days: int) -> None:
    """`count` staging rows and `count` anomalies created `days` ago, inserted directly."""
    db.execute(
        "insert into staging_imports (tenant_id, batch_id, source, raw, batch_checksum, "
        "row_count, correlation_id, created_at) "
        "select %(t)s, gen_random_uuid(), 'test', '{}', md5(random()::text || i), 1, "
        "gen_random_uuid(), now() - make_interval(days => %(d)s) "
        "from generate_series(1, %(n)s) i", {"t": tenant_id, "n": count, "d": days})
    db.execute(
        "insert into import_anomalies (tenant_id, batch_id, row_index, project_key, "
        "anomaly_type, severity, created_at) "
        "select %(t)s, gen_random_uuid(), i, 'STG-' || i, 'UNKNOWN_DS', 'error', "
        "now() - make_interval(days => %(d)s) from generate_series(1, %(n)s) i",
        {"t": tenant_id, "n": count, "d": days})


def counts_of(db: psycopg.Connection[Any], table: str) -> int:
    row = db.execute(f"select count(*) as n from {table}").fetchone()
    assert row is not None
    return int(row["n"])


def stats(db: psycopg.Connection[Any]) -> dict[tuple[str, dt.date], tuple[int, int]]:
    rows = db.execute("select tenant_id, stat_date, staging_imports_count, "
                      "import_anomalies_count from import_retention_stats "
                      "order by stat_date desc").fetchall()
    return {(r["tenant_id"], r["stat_date"]):
            (r["staging_imports_count"], r["import_anomalies_count"]) for r in rows}


def days_ago(days: int) -> dt.date:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).date()


def test_defaults_are_60_and_90_days(db, database_url, tenant, directories) -> None:
    staged = {}
    for name in ("b100", "b91", "b61", "b59"):
        result = submit(database_url, batch(
            [project_row(f"STG-{name}", deployment_specialist="nobody")], batch_id=name))
        staged[name] = result["metrics"]["staging_id"]
    age_batch(db, staged["b100"], staging_days=100, anomaly_days=100)
    age_batch(db, staged["b91"], staging_days=91, anomaly_days=91)
    age_batch(db, staged["b61"], staging_days=61, anomaly_days=61)
    age_batch(db, staged["b59"], staging_days=59, anomaly_days=59)

    counts = cleanup(db)

    assert counts["staging_imports_deleted"] == 3
    assert counts["import_anomalies_deleted"] == 2
    assert (counts["imports_days"], counts["anomalies_days"]) == (60, 90)
    assert counts["complete"] is True
    left = db.execute("select id::text from staging_imports").fetchall()
    assert [r["id"] for r in left] == [staged["b59"]]
    kept = db.execute("select project_key, staging_id::text from import_anomalies "
                      "order by project_key").fetchall()
    # the 61-day anomaly outlives its staging row: kept, unlinked (ON DELETE SET NULL)
    assert [(r["project_key"], r["staging_id"]) for r in kept] == [
        ("STG-b59", staged["b59"]), ("STG-b61", None)]
    assert stats(db) == {("TELCO", days_ago(61)): (1, 0),
                         ("TELCO", days_ago(91)): (1, 1),
                         ("TELCO", days_ago(100)): (1, 1)}

    assert cleanup(db)["staging_imports_deleted"] == 0
    assert len(stats(db)) == 3


def test_overrides_and_zero_deletes_everything(db, tenant) -> None:
    old_rows(db, "TELCO", 2, 50)
    old_rows(db, "TELCO", 3, 0)

    counts = cleanup(db, 45, 75)
    assert (counts["staging_imports_deleted"], counts["import_anomalies_deleted"]) == (2, 0)

    counts = cleanup(db, 0, 0)
    assert (counts["staging_imports_deleted"], counts["import_anomalies_deleted"]) == (3, 5)
    assert counts_of(db, "staging_imports") == 0
    assert counts_of(db, "import_anomalies") == 0
    assert stats(db) == {("TELCO", days_ago(50)): (2, 2), ("TELCO", days_ago(0)): (3, 3)}


def test_counters_add_up_per_tenant_and_day(db, database_url, tenant) -> None:
    from tests.support import create_tenant

    create_tenant(database_url, "OTHER")
    old_rows(db, "TELCO", 2, 70)
    old_rows(db, "OTHER", 1, 70)
    cleanup(db)
    old_rows(db, "TELCO", 3, 70)
    cleanup(db)
    assert stats(db) == {("TELCO", days_ago(70)): (5, 0), ("OTHER", days_ago(70)): (1, 0)}


def test_chunks_bound_each_statement(db, tenant) -> None:
    old_rows(db, "TELCO", 12, 100)

    first = cleanup(db, 60, 90, 5, 1)
    assert first["staging_imports_deleted"] == 5
    assert first["import_anomalies_deleted"] == 5
    assert (first["chunks"], first["complete"]) == (1, False)

    rest = cleanup(db, 60, 90, 5)
    assert rest["staging_imports_deleted"] == 7
    assert (rest["chunks"], rest["complete"]) == (2, True)
    assert counts_of(db, "staging_imports") == 0
    assert stats(db) == {("TELCO", days_ago(100)): (12, 12)}


def test_manager_commits_chunk_by_chunk(db, database_url, tenant) -> None:
    old_rows(db, "TELCO", 11, 100)

    async def go() -> Any:
        async with Database(database_url, max_size=1) as pool:
            return await Retention(pool).cleanup(chunk_size=4)

    result = asyncio.run(go())
    assert result.as_dict() == {"staging_imports_deleted": 11, "import_anomalies_deleted": 11,
                                "chunks": 3, "complete": True}
    assert counts_of(db, "staging_imports") == 0


def test_rows_locked_by_an_import_are_skipped_not_waited_for(db, database_url, tenant) -> None:
    old_rows(db, "TELCO", 3, 100)
    with psycopg.connect(database_url) as importer:
        importer.execute("select id from staging_imports order by id limit 1 for update")
        db.execute("set lock_timeout = '2s'")
        counts = cleanup(db)
        importer.rollback()
    assert counts["staging_imports_deleted"] == 2
    assert counts_of(db, "staging_imports") == 1
    assert cleanup(db)["staging_imports_deleted"] == 1


def test_negative_days_are_refused(db) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="0 or more"):
        cleanup(db, -1, 90)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="1 or more"):
        cleanup(db, 60, 90, 0)
