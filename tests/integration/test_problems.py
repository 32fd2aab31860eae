"""Problems and occurrences in PostgreSQL (migration 0012): grouping, automatic resolution,
regression, the lifecycle RPCs, filters, cursors, stats, and the migration of existing data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import errors
from psycopg.rows import dict_row

from projects_import.db import migrations
from tests.support import batch, project_row, submit

pytestmark = pytest.mark.engine  # problem grouping and lifecycle in SQL

Conn = psycopg.Connection[Any]
OPERATOR = {"sub": "op-1", "role": "authenticated", "app_metadata": {"role": "operator"}}
VIEWER = {"sub": "viewer-1", "role": "authenticated", "app_metadata": {"role": "viewer"}}
BAD_DS = 15


@contextmanager
def as_user(db: Conn, claims: dict[str, Any]) -> Iterator[Conn]:
    """One transaction as `authenticated` with `claims`, the way PostgREST calls."""
    with db.transaction():
        db.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        db.execute("set local role authenticated")
        yield db


def rpc(db: Conn, query: str, params: tuple[Any, ...] = (),
        claims: dict[str, Any] = OPERATOR) -> list[dict[str, Any]]:
    with as_user(db, claims):
        return db.execute(query, params).fetchall()


def day_batch(day: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Day `day`'s batch; the rows change a figure each day so it is never a replay."""
    for row in rows:
        row["residential"] = str(day)
    return batch(rows, batch_id=f"2025-08-{day:02d}T17:00:00+0930-batch")


def bad_rows(count: int = BAD_DS) -> list[dict[str, Any]]:
    return [project_row(f"STG-{i:03d}", deployment_specialist=f"ds.unknown.{i}")
            for i in range(count)]


def problems(db: Conn) -> list[dict[str, Any]]:
    return db.execute("select * from import_problems order by project_key, anomaly_type, id"
                      ).fetchall()


def events(db: Conn, problem_id: int) -> list[tuple[str, str, str | None]]:
    rows = db.execute("select action, actor, resolution from import_problem_events "
                      "where problem_id = %s order by at, id", (problem_id,)).fetchall()
    return [(r["action"], r["actor"], r["resolution"]) for r in rows]


@pytest.fixture
def week(db: Conn, database_url: str, tenant: tuple[str, str], directories: None
         ) -> list[dict[str, Any]]:
    """Seven daily batches with the same 15 bad rows (distinct unknown DS values) and 5 good."""
    for day in range(1, 8):
        rows = bad_rows() + [project_row(f"OK-{i}") for i in range(5)]
        result = submit(database_url, day_batch(day, rows))
        assert result["replayed"] is False
    return problems(db)


# ------------------------------------------------------------------ grouping

def test_seven_daily_batches_make_15_open_problems_of_105_occurrences(db, week) -> None:
    assert len(week) == BAD_DS
    assert {(p["status"], p["occurrences"], p["anomaly_type"]) for p in week} == {
        ("open", 7, "UNKNOWN_DS")}
    assert {p["unknown_value"] for p in week} == {f"ds.unknown.{i}" for i in range(BAD_DS)}
    assert all(p["unknown_key"] == p["unknown_value"] for p in week)
    occurrences = db.execute(
        "select count(*) as n, count(problem_id) as linked, count(distinct batch_id) as batches,"
        " count(*) filter (where status = 'open') as open from import_anomalies").fetchone()
    assert occurrences == {"n": 105, "linked": 105, "batches": 7, "open": 105}
    first = week[0]
    newest = db.execute("select * from import_anomalies where problem_id = %s "
                        "order by created_at desc, id desc limit 1", (first["id"],)).fetchone()
    assert first["last_anomaly_id"] == newest["id"]
    assert first["last_batch_id"] == newest["batch_id"]
    assert first["payload_excerpt"] == newest["payload_excerpt"]
    assert first["first_seen_at"] < first["last_seen_at"]
    assert first["ack_due_at"] is not None and first["resolve_due_at"] > first["ack_due_at"]
    assert events(db, first["id"]) == [("opened", "system", None)]


def test_the_unknown_value_is_grouped_as_the_directories_match_it(
        db, database_url, tenant, directories) -> None:
    submit(database_url, day_batch(1, [project_row("STG-1", deployment_specialist="New  DS")]))
    submit(database_url, day_batch(2, [project_row("STG-1", deployment_specialist="new ds ")]))
    [problem] = problems(db)
    assert (problem["occurrences"], problem["unknown_key"]) == (2, "new ds")
    assert problem["unknown_value"] == "new ds"      # as last seen, trimmed


def test_rerunning_a_batch_records_no_second_occurrence(db, database_url, week) -> None:
    staged = db.execute("select batch_id, raw, correlation_id from staging_imports "
                        "order by created_at desc limit 1").fetchone()
    db.execute("select fn_projects_import_merge('TELCO', 'projects-import', %s, %s, %s)",
               (staged["batch_id"], json.dumps(staged["raw"]["rows"]), staged["correlation_id"]))
    assert {p["occurrences"] for p in problems(db)} == {7}
    assert db.execute("select count(*) as n from import_anomalies").fetchone()["n"] == 105


# ------------------------------------------------------------------ automatic resolution

def test_directory_fix_and_backfill_resolve_as_directory_fix(db, week) -> None:
    db.execute("insert into ds_directory (tenant_id, preferred_username, active) "
               "select 'TELCO', 'ds.unknown.' || i, true from generate_series(0, 14) i")
    counts = db.execute("select fn_projects_membership_backfill() as c").fetchone()["c"]
    assert counts["anomalies_resolved"] == 105
    after = problems(db)
    assert {(p["status"], p["resolution"], p["resolved_by"]) for p in after} == {
        ("resolved", "directory_fix", "system")}
    assert db.execute("select count(*) as n from import_anomalies where status <> 'resolved'"
                      ).fetchone()["n"] == 0
    assert events(db, after[0]["id"])[-1] == ("resolved", "system", "directory_fix")


def test_directory_fix_and_rerun_resolve_as_directory_fix(db, database_url, week) -> None:
    db.execute("insert into ds_directory (tenant_id, preferred_username, active) "
               "values ('TELCO', 'ds.unknown.3', true)")
    staged = db.execute("select batch_id, raw, correlation_id from staging_imports "
                        "order by created_at desc limit 1").fetchone()
    db.execute("select fn_projects_import_merge('TELCO', 'projects-import', %s, %s, %s)",
               (staged["batch_id"], json.dumps(staged["raw"]["rows"]), staged["correlation_id"]))
    fixed = [p for p in problems(db) if p["status"] == "resolved"]
    assert [(p["unknown_value"], p["resolution"]) for p in fixed] == [
        ("ds.unknown.3", "directory_fix")]


def test_a_later_batch_without_the_value_resolves_as_data_fix(db, database_url, week) -> None:
    rows = bad_rows()
    rows[0]["deployment_specialist"] = "PREFERRED_USERNAME"     # corrected at the source
    rows[1]["deployment_specialist"] = ""                        # removed
    rows[2]["deployment_specialist"] = "ds.other.unknown"       # replaced by another miss
    metrics = submit(database_url, day_batch(8, rows))["metrics"]
    assert metrics["anomalies_resolved"] == 21
    by_value = {p["unknown_value"]: p for p in problems(db)}
    for value in ("ds.unknown.0", "ds.unknown.1", "ds.unknown.2"):
        assert (by_value[value]["status"], by_value[value]["resolution"]) == (
            "resolved", "data_fix")
        assert by_value[value]["resolved_by"] == "system"
    assert by_value["ds.other.unknown"]["status"] == "open"
    assert by_value["ds.unknown.3"]["occurrences"] == 8
    assert len(by_value) == BAD_DS + 1


def test_a_manual_resolve_that_recurs_reopens_and_regresses(db, database_url, week) -> None:
    target = week[0]
    [resolved] = rpc(db, "select * from fn_problem_set_status(%s, 'resolved', 'fixed upstream')",
                     (target["id"],))
    assert (resolved["status"], resolved["resolution"], resolved["resolved_by"]) == (
        "resolved", "manual", "op-1")
    assert resolved["note"] == "fixed upstream"

    db.execute("update import_problems set ack_due_at = '2000-01-03', "
               "resolve_due_at = '2000-01-04' where id = %s", (target["id"],))
    submit(database_url, day_batch(8, bad_rows()))
    again = db.execute("select * from import_problems where id = %s", (target["id"],)
                       ).fetchone()
    clocks = db.execute("select * from fn_problem_due_times('TELCO', %s)",
                        (again["reopened_at"],)).fetchone()
    assert again["status"] == "open" and again["regressed"] is True
    assert again["reopened_at"] is not None and again["resolution"] is None
    assert again["resolved_at"] is None and again["occurrences"] == 8
    assert (again["ack_due_at"], again["resolve_due_at"]) == (      # new clocks
        clocks["ack_due_at"], clocks["resolve_due_at"])
    assert [e[0] for e in events(db, target["id"])] == ["opened", "resolved", "reopened"]
    statuses = db.execute("select distinct status from import_anomalies where problem_id = %s",
                          (target["id"],)).fetchall()
    assert statuses == [{"status": "open"}]
    others = [p for p in problems(db) if p["id"] != target["id"]]
    assert not any(p["regressed"] for p in others)


def test_an_automatic_resolve_that_recurs_reopens_without_regressing(
        db, database_url, tenant, directories) -> None:
    submit(database_url, day_batch(1, [project_row("STG-1", deployment_specialist="ds.x")]))
    submit(database_url, day_batch(2, [project_row("STG-1")]))
    submit(database_url, day_batch(3, [project_row("STG-1", deployment_specialist="ds.x")]))
    [problem] = problems(db)
    assert (problem["status"], problem["regressed"], problem["occurrences"]) == (
        "open", False, 2)


# ------------------------------------------------------------------ lifecycle RPCs

def test_acknowledge_then_resolve_records_the_sub_and_moves_every_occurrence(db, week) -> None:
    target = week[0]["id"]
    [acked] = rpc(db, "select * from fn_problem_set_status(%s, 'acknowledged')", (target,))
    assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "op-1")
    [again] = rpc(db, "select * from fn_problem_set_status(%s, 'acknowledged')", (target,),
                  claims={**OPERATOR, "sub": "op-2"})
    assert again["acknowledged_by"] == "op-1" and again["acknowledged_at"] == acked[
        "acknowledged_at"]
    occurrences = db.execute("select distinct status, acknowledged_by from import_anomalies "
                             "where problem_id = %s", (target,)).fetchall()
    assert occurrences == [{"status": "acknowledged", "acknowledged_by": "op-1"}]

    [done] = rpc(db, "select * from fn_problem_set_status(%s, 'resolved')", (target,),
                 claims={**OPERATOR, "sub": "op-2"})
    assert (done["status"], done["resolved_by"], done["resolution"]) == (
        "resolved", "op-2", "manual")
    [same] = rpc(db, "select * from fn_problem_set_status(%s, 'resolved')", (target,))
    assert same["resolved_by"] == "op-2" and same["resolved_at"] == done["resolved_at"]
    assert [e[:2] for e in events(db, target)] == [
        ("opened", "system"), ("acknowledged", "op-1"), ("resolved", "op-2")]
    assert db.execute("select count(*) filter (where status = 'resolved') as n "
                      "from import_anomalies where problem_id = %s", (target,)
                      ).fetchone()["n"] == 7


@pytest.mark.parametrize(("query", "claims", "error"), [
    ("select * from fn_problem_set_status(%s, 'resolved')", VIEWER,
     errors.InsufficientPrivilege),
    ("select * from fn_problem_set_status(999999, 'resolved')", OPERATOR, errors.NoDataFound),
    ("select * from fn_problem_set_status(%s, 'open')", OPERATOR,
     errors.InvalidParameterValue),
    ("select * from fn_problem_get(999999)", OPERATOR, errors.NoDataFound),
    ("select * from fn_problem_occurrences(%s, 0)", OPERATOR, errors.InvalidParameterValue),
    ("select * from fn_problems_for_operator(p_status => array['closed'])", OPERATOR,
     errors.InvalidParameterValue),
    ("select * from fn_problem_stats(24)", VIEWER, errors.InsufficientPrivilege),
], ids=["viewer", "missing", "bad-status", "get-missing", "bad-limit", "bad-filter",
        "stats-viewer"])
def test_lifecycle_and_reads_refuse_what_is_wrong(db, week, query, claims, error) -> None:
    params = (week[0]["id"],) if "%s" in query else ()
    with pytest.raises(error):
        rpc(db, query, params, claims=claims)


def test_a_resolved_problem_cannot_be_acknowledged(db, week) -> None:
    rpc(db, "select * from fn_problem_set_status(%s, 'resolved')", (week[0]["id"],))
    with pytest.raises(errors.ObjectNotInPrerequisiteState):
        rpc(db, "select * from fn_problem_set_status(%s, 'acknowledged')", (week[0]["id"],))


def test_the_per_anomaly_rpc_acts_on_the_anomalys_problem(db, week) -> None:
    anomaly = db.execute("select id, problem_id from import_anomalies "
                         "where problem_id = %s order by id limit 1", (week[1]["id"],)).fetchone()
    [row] = rpc(db, "select * from fn_anomaly_set_status(%s, 'acknowledged')", (anomaly["id"],))
    assert (row["id"], row["status"], row["acknowledged_by"]) == (
        anomaly["id"], "acknowledged", "op-1")
    problem = db.execute("select status, acknowledged_by from import_problems where id = %s",
                         (anomaly["problem_id"],)).fetchone()
    assert problem == {"status": "acknowledged", "acknowledged_by": "op-1"}
    assert db.execute("select count(*) as n from import_anomalies where problem_id = %s "
                      "and status = 'acknowledged'", (anomaly["problem_id"],)
                      ).fetchone()["n"] == 7


def test_user_roles_cannot_write_problems_directly(db, week) -> None:
    with pytest.raises(errors.InsufficientPrivilege), as_user(db, OPERATOR):
        db.execute("update import_problems set status = 'resolved'")
    with pytest.raises(errors.InsufficientPrivilege), as_user(db, OPERATOR):
        db.execute("delete from import_problem_events")
    assert rpc(db, "select count(*) as n from import_problems", claims=VIEWER) == [{"n": 0}]
    assert rpc(db, "select count(*) as n from import_problems") == [{"n": BAD_DS}]


# ------------------------------------------------------------------ reads: get, filters, cursors

def test_get_a_problem_its_occurrences_and_its_history(db, week) -> None:
    target = week[2]
    [got] = rpc(db, "select * from fn_problem_get(%s)", (target["id"],))
    assert got["id"] == target["id"] and got["occurrences"] == 7
    occurrences = rpc(db, "select * from fn_problem_occurrences(%s, 5)", (target["id"],))
    assert len(occurrences) == 5
    assert occurrences[0]["id"] == target["last_anomaly_id"]
    keys = [(o["created_at"], o["id"]) for o in occurrences]
    assert keys == sorted(keys, reverse=True)
    assert {o["problem_id"] for o in occurrences} == {target["id"]}
    history = rpc(db, "select * from fn_problem_events(%s)", (target["id"],))
    assert [h["action"] for h in history] == ["opened"]


def test_every_problem_filter_narrows(db, database_url, week) -> None:
    submit(database_url, day_batch(8, [project_row("RM-1", relationship_manager="Nobody Known"),
                                       *bad_rows()]))
    everything = rpc(db, "select id from fn_problems_for_operator()")
    assert len(everything) == BAD_DS + 1

    def ids(**params: Any) -> set[int]:
        names = ", ".join(f"{name} => %({name})s" for name in params)
        with as_user(db, OPERATOR):
            rows = db.execute(f"select id from fn_problems_for_operator({names})",
                              params).fetchall()
        return {r["id"] for r in rows}

    rm = ids(p_anomaly_type=["UNKNOWN_RM"])
    assert len(rm) == 1
    assert ids(p_severity=["warning"]) == set()
    assert ids(p_tenant="OTHER") == set()
    assert ids(p_project_key="STG-004") == {week[4]["id"]}
    assert ids(p_search="UNKNOWN.1") == {week[1]["id"]} | {
        p["id"] for p in week if p["unknown_value"].startswith("ds.unknown.1")}
    assert ids(p_search="rm-1") == rm
    first_batch = db.execute("select batch_id from staging_imports order by created_at limit 1"
                             ).fetchone()["batch_id"]
    assert ids(p_batch_id=[first_batch]) == {p["id"] for p in week}
    rpc(db, "select * from fn_problem_set_status(%s, 'acknowledged')", (week[0]["id"],))
    assert ids(p_status=["acknowledged"]) == {week[0]["id"]}
    assert len(ids(p_status=["open"])) == BAD_DS
    db.execute("update import_problems set ack_due_at = now() - interval '1 hour' "
               "where id = %s", (week[5]["id"],))
    assert ids(p_overdue=True) == {week[5]["id"]}
    assert len(ids(p_overdue=False)) == BAD_DS


def test_the_problem_cursor_walks_every_problem_once(db, week) -> None:
    db.execute("update import_problems set last_seen_at = date_trunc('day', now())")  # ties
    seen: list[int] = []
    after: tuple[Any, Any] = (None, None)
    while True:
        page = rpc(db, "select id, last_seen_at from fn_problems_for_operator("
                       "p_after_last_seen_at => %s, p_after_id => %s, p_limit => 4)", after)
        if not page:
            break
        seen += [r["id"] for r in page]
        after = (page[-1]["last_seen_at"], page[-1]["id"])
    assert sorted(seen) == sorted(p["id"] for p in week) and len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def add_anomalies(db: Conn, count: int) -> None:
    """`count` anomalies over two tenants, types and batches, many sharing a created_at."""
    db.execute("insert into tenants (tenant_id) values ('OTHER') on conflict do nothing")
    db.execute(
        "insert into import_anomalies (tenant_id, batch_id, row_index, project_key,"
        " anomaly_type, severity, created_at)"
        " select case when i %% 5 = 0 then 'OTHER' else 'TELCO' end,"
        "        case when i %% 2 = 0 then '00000000-0000-0000-0000-000000000002'::uuid"
        "             else '00000000-0000-0000-0000-000000000001'::uuid end,"
        "        i, 'STG-' || (i %% 50),"
        "        case when i %% 3 = 0 then 'UNKNOWN_RM' else 'UNKNOWN_DS' end, 'error',"
        "        now() - make_interval(mins => i / 10)"
        "   from generate_series(1, %s) i", (count,))


def test_the_anomaly_cursor_walks_2500_without_gaps_or_repeats(db, tenant) -> None:
    add_anomalies(db, 2500)
    seen: list[int] = []
    after: tuple[Any, Any] = (None, None)
    pages = 0
    while True:
        page = rpc(db, "select id, created_at from fn_anomalies_for_operator("
                       "null, null, null, 300, null, p_after_created_at => %s, p_after_id => %s)",
                   after)
        if not page:
            break
        pages += 1
        seen += [r["id"] for r in page]
        after = (page[-1]["created_at"], page[-1]["id"])
    total = db.execute("select count(*) as n from import_anomalies").fetchone()["n"]
    assert total == 2500 and len(seen) == 2500 and len(set(seen)) == 2500 and pages == 9


def test_every_anomaly_filter_narrows(db, tenant) -> None:
    add_anomalies(db, 300)

    def count(**params: Any) -> int:
        names = "".join(f", {name} => %({name})s" for name in params
                        if name not in ("p_anomaly_type", "p_tenant"))
        query = ("select count(*) as n from fn_anomalies_for_operator("
                 "null, %(p_tenant)s, null, null, %(p_anomaly_type)s" + names + ")")
        with as_user(db, OPERATOR):
            return int(db.execute(query, {"p_tenant": None, "p_anomaly_type": None,
                                          **params}).fetchone()["n"])

    assert count() == 300
    assert count(p_tenant="OTHER") == 60
    assert count(p_anomaly_type=["UNKNOWN_RM"]) == 100
    assert count(p_batch_id=[uuid.UUID(int=1)]) == 150
    assert count(p_project_key="STG-7") == 6
    db.execute("update import_anomalies set status = 'resolved' where row_index <= 30")
    assert count(p_status=["resolved"]) == 30
    assert count(p_status=["open", "acknowledged"]) == 270
    with pytest.raises(errors.InvalidParameterValue):
        count(p_anomaly_type=["UNKNOWN_XX"])
    with pytest.raises(errors.InvalidParameterValue):
        count(p_after_id=5)


# ------------------------------------------------------------------ stats

def test_stats_count_open_problems_and_new_occurrences_never_resolved(db, week) -> None:
    rpc(db, "select * from fn_problem_set_status(%s, 'acknowledged')", (week[0]["id"],))
    for problem in week[1:4]:
        rpc(db, "select * from fn_problem_set_status(%s, 'resolved')", (problem["id"],))
    db.execute("update import_problems set ack_due_at = now() - interval '1 minute', "
               "resolve_due_at = now() - interval '1 minute' where id in (%s, %s, %s)",
               (week[0]["id"], week[1]["id"], week[4]["id"]))
    [row] = rpc(db, "select * from fn_problem_stats(24)")
    assert row == {"tenant_id": "TELCO", "anomaly_type": "UNKNOWN_DS", "severity": "error",
                   "open_problems": 11, "acknowledged_problems": 1, "new_problems": 12,
                   "occurrences": 105, "overdue_ack": 1, "overdue_resolve": 2}
    legacy = rpc(db, "select * from fn_anomalies_stats(24)")
    assert legacy[0]["count"] == 105


# ------------------------------------------------------------------ the migration of old data

def test_existing_anomalies_are_migrated_into_problems(
        fresh_database: Callable[[str | None], str]) -> None:
    """Migrations up to 0011 as the runner applies them, old-style anomalies, then the rest."""
    url = fresh_database(None)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table public.projects_import_migrations (version text primary key,"
                     " name text not null, checksum text not null,"
                     " applied_at timestamptz not null default now())")
        for migration in migrations.available():
            if migration.version >= "0012":
                break
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute("insert into public.projects_import_migrations"
                             " (version, name, checksum) values (%s, %s, %s)",
                             (migration.version, migration.name, migration.checksum))
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("insert into tenants (tenant_id) values ('TELCO')")
        conn.execute("insert into projects (tenant_id, stage_application, deployment_specialist)"
                     " values ('TELCO', 'STG-1', 'ds.now'), ('TELCO', 'STG-2', 'ds.b')")
        for day, (key, value, status) in enumerate([
                ("STG-1", "ds.old", "resolved"), ("STG-1", "ds.now", "resolved"),
                ("STG-1", "DS.Now", "acknowledged"), ("STG-2", "ds.b", "open"),
                ("STG-2", "ds.b", "resolved")]):
            excerpt = json.dumps({"stage_application": key, "deployment_specialist": value})
            conn.execute(
                "insert into import_anomalies (tenant_id, batch_id, row_index, project_key,"
                " anomaly_type, severity, payload_excerpt, status, acknowledged_by, created_at)"
                " values ('TELCO', gen_random_uuid(), 0, %s, 'UNKNOWN_DS', 'error', %s, %s,"
                " case when %s = 'acknowledged' then 'op-9' end,"
                " now() - make_interval(days => 10 - %s))",
                (key, excerpt, status, status, day))
    assert migrations.migrate(url)[0].startswith("0012_")
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        rows = conn.execute("select project_key, unknown_key, status, occurrences, resolution,"
                            " acknowledged_by from import_problems order by project_key,"
                            " unknown_key").fetchall()
        assert [tuple(r.values()) for r in rows] == [
            ("STG-1", "ds.now", "acknowledged", 2, None, "op-9"),
            ("STG-1", "ds.old", "resolved", 1, "data_fix", None),
            ("STG-2", "ds.b", "resolved", 2, "directory_fix", None),
        ]
        linked = conn.execute("select count(*) filter (where problem_id is null) as loose,"
                              " count(*) filter (where status = 'acknowledged') as acked"
                              " from import_anomalies").fetchone()
        assert linked == {"loose": 0, "acked": 2}
        opened = conn.execute("select count(*) as n from import_problem_events"
                              " where action = 'opened'").fetchone()
        assert opened["n"] == 3


@pytest.mark.parametrize("table", ["import_problems", "import_problem_events", "tenant_events"])
def test_anon_reads_nothing_of_the_new_tables(db, week, table) -> None:
    with pytest.raises(errors.InsufficientPrivilege), db.transaction():
        db.execute("set local role anon")
        db.execute(f"select count(*) from {table}")
