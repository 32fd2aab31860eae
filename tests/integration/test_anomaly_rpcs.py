"""The operator views and RPCs in PostgreSQL (SPEC §5.5), called the way PostgREST would:
`set local role authenticated` with the caller's claims in `request.jwt.claims`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import errors

from projects_import.anomalies.manager import AnomalyFilter, AnomalyManager, NotOperator
from projects_import.db.connection import Database

pytestmark = pytest.mark.engine  # the operator RPCs under PostgREST's roles and RLS

OPERATOR = {"sub": "op-1", "role": "authenticated", "app_metadata": {"role": "operator"}}
ADMIN = {"sub": "admin-1", "role": "authenticated", "app_metadata": {"role": "admin"}}
VIEWER = {"sub": "viewer-1", "role": "authenticated", "app_metadata": {"role": "viewer"}}
NO_ROLE = {"sub": "someone", "role": "authenticated"}

Conn = psycopg.Connection[Any]


@contextmanager
def as_user(db: Conn, claims: dict[str, Any] | None, role: str = "authenticated") -> Iterator[Conn]:
    """One transaction as `role` with `claims` (none: no request.jwt.claims at all)."""
    with db.transaction():
        if claims is not None:
            db.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        db.execute(f"set local role {role}")
        yield db


def add_anomaly(db: Conn, *, tenant: str = "TELCO", anomaly_type: str = "UNKNOWN_DS",
                severity: str = "error", hours_ago: float = 0.1, row_index: int = 0,
                project_key: str | None = None) -> int:
    row = db.execute(
        "insert into import_anomalies (tenant_id, batch_id, row_index, project_key, anomaly_type,"
        " severity, payload_excerpt, correlation_id, created_at)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, now() - make_interval(secs => %s))"
        " returning id",
        (tenant, uuid.uuid4(), row_index, project_key or f"STG-{row_index:04d}", anomaly_type,
         severity, json.dumps({"stage_application": project_key or f"STG-{row_index:04d}"}),
         uuid.uuid4(), hours_ago * 3600),
    ).fetchone()
    assert row is not None
    return int(row["id"])


@pytest.fixture
def spread(db: Conn) -> dict[str, int]:
    """Anomalies at known ages: 2 in the last hour, 3 more within 24 h, 2 more within
    14 days, 1 older than 14 days. Two tenants, all three types."""
    ids = {
        "fresh_ds": add_anomaly(db, hours_ago=0.2, row_index=1),
        "fresh_dp": add_anomaly(db, anomaly_type="UNKNOWN_DELIVERY_PARTNER", severity="warning",
                                hours_ago=0.5, row_index=2),
        "day_rm": add_anomaly(db, anomaly_type="UNKNOWN_RM", hours_ago=5, row_index=3),
        "day_other": add_anomaly(db, tenant="OTHER", hours_ago=6, row_index=4),
        "day_ds": add_anomaly(db, hours_ago=20, row_index=5),
        "week_1": add_anomaly(db, hours_ago=48, row_index=6),
        "week_2": add_anomaly(db, tenant="OTHER", anomaly_type="UNKNOWN_RM", hours_ago=24 * 13,
                              row_index=7),
        "old": add_anomaly(db, hours_ago=24 * 15, row_index=8),
    }
    return ids


def rpc_rows(db: Conn, sql: str, params: tuple[Any, ...] = (),
             claims: dict[str, Any] | None = OPERATOR) -> list[dict[str, Any]]:
    with as_user(db, claims):
        return db.execute(sql, params).fetchall()


# ------------------------------------------------------------- operators and admins read

@pytest.mark.parametrize("claims", [OPERATOR, ADMIN], ids=["operator", "admin"])
def test_operator_and_admin_read_the_window_newest_first(db, spread, claims) -> None:
    rows = rpc_rows(db, "select * from public.fn_anomalies_for_operator(24, null, null)",
                    claims=claims)
    assert [r["id"] for r in rows] == [spread[k] for k in
                                      ("fresh_ds", "fresh_dp", "day_rm", "day_other", "day_ds")]
    assert "raw" not in rows[0]
    assert {"id", "tenant_id", "batch_id", "row_index", "project_key", "anomaly_type",
            "severity", "payload_excerpt", "correlation_id", "created_at",
            "status"} <= rows[0].keys()


def test_runbook_calls_work_as_documented(db, spread) -> None:
    """`select * from fn_anomalies_for_operator(24, null, null) limit 5`, the defaults, and
    the exact documented signatures."""
    assert len(rpc_rows(db, "select * from public.fn_anomalies_for_operator(24, null, null) "
                            "limit 2")) == 2
    assert len(rpc_rows(db, "select * from public.fn_anomalies_for_operator()")) == 5
    assert len(rpc_rows(db, "select * from public.fn_anomalies_stats()")) == 4
    found = db.execute(
        "select to_regprocedure('public.fn_anomalies_for_operator(integer,text,text[])') as a,"
        " to_regprocedure('public.fn_anomalies_stats(integer)') as b").fetchone()
    assert found["a"] is not None and found["b"] is not None


def test_filters_by_tenant_severity_and_limit(db, spread) -> None:
    other = rpc_rows(db, "select id from public.fn_anomalies_for_operator(8760, 'OTHER', null)")
    assert [r["id"] for r in other] == [spread["day_other"], spread["week_2"]]
    warnings = rpc_rows(db, "select id, severity from "
                            "public.fn_anomalies_for_operator(24, null, array['warning'])")
    assert [r["id"] for r in warnings] == [spread["fresh_dp"]]
    both = rpc_rows(db, "select id from public.fn_anomalies_for_operator(24, 'TELCO', "
                        "array['error', 'info'])")
    assert [r["id"] for r in both] == [spread["fresh_ds"], spread["day_rm"], spread["day_ds"]]
    limited = rpc_rows(db, "select id from public.fn_anomalies_for_operator(8760, null, null, 3)")
    assert [r["id"] for r in limited] == [spread["fresh_ds"], spread["fresh_dp"],
                                          spread["day_rm"]]
    limited_tenant = rpc_rows(
        db, "select id from public.fn_anomalies_for_operator(8760, 'TELCO', null, 2)")
    assert [r["id"] for r in limited_tenant] == [spread["fresh_ds"], spread["fresh_dp"]]


def test_stats_totals_change_with_the_window(db, spread) -> None:
    def total(hours: int) -> int:
        rows = rpc_rows(db, "select * from public.fn_anomalies_stats(%s)", (hours,))
        return sum(r["count"] for r in rows)

    assert (total(1), total(24), total(24 * 14), total(8760)) == (2, 5, 7, 8)
    rows = rpc_rows(db, "select * from public.fn_anomalies_stats(24)")
    by_key = {(r["tenant_id"], r["anomaly_type"], r["severity"]): r["count"] for r in rows}
    assert by_key == {("TELCO", "UNKNOWN_DS", "error"): 2,
                      ("TELCO", "UNKNOWN_DELIVERY_PARTNER", "warning"): 1,
                      ("TELCO", "UNKNOWN_RM", "error"): 1,
                      ("OTHER", "UNKNOWN_DS", "error"): 1}


def test_views_cover_14_days_and_24_hours(db, spread) -> None:
    recent = rpc_rows(db, "select id from public.vw_import_anomalies_recent")
    assert {r["id"] for r in recent} == {v for k, v in spread.items() if k != "old"}
    stats = rpc_rows(db, "select * from public.vw_import_anomalies_stats_24h")
    assert sum(r["count"] for r in stats) == 5
    assert {r["tenant_id"] for r in stats} == {"TELCO", "OTHER"}
    options = db.execute(
        "select relname, reloptions from pg_class where relname in "
        "('vw_import_anomalies_recent', 'vw_import_anomalies_stats_24h')").fetchall()
    assert all("security_invoker=true" in (r["reloptions"] or []) for r in options)


def test_windowing_is_checked(db) -> None:
    with pytest.raises(errors.InvalidParameterValue, match="p_window_hours"), \
            as_user(db, OPERATOR):
        db.execute("select * from public.fn_anomalies_stats(0)")
    with pytest.raises(errors.InvalidParameterValue, match="p_limit"), as_user(db, OPERATOR):
        db.execute("select * from public.fn_anomalies_for_operator(24, null, null, 0)")


# ------------------------------------------------------------- everyone else is refused

@pytest.mark.parametrize("claims", [VIEWER, NO_ROLE, None], ids=["viewer", "no-role", "no-claims"])
@pytest.mark.parametrize("call", [
    "select * from public.fn_anomalies_for_operator(24, null, null)",
    "select * from public.fn_anomalies_for_operator(24, null, null, 10)",
    "select * from public.fn_anomalies_stats(24)",
    "select * from public.fn_anomaly_set_status(1, 'acknowledged')",
])
def test_rpcs_raise_insufficient_privilege_for_non_operators(db, spread, claims, call) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="insufficient_privilege"), \
            as_user(db, claims):
        db.execute(call)


def test_the_service_role_without_claims_is_refused_too(db, spread) -> None:
    """The RPCs check the JWT, not the connection's role: even the table owner needs claims."""
    with pytest.raises(errors.InsufficientPrivilege), db.transaction():
        db.execute("select * from public.fn_anomalies_stats(24)")


@pytest.mark.parametrize("claims", [VIEWER, NO_ROLE, None], ids=["viewer", "no-role", "no-claims"])
def test_rls_hides_rows_from_non_operators(db, spread, claims) -> None:
    for relation in ("import_anomalies", "vw_import_anomalies_recent",
                     "vw_import_anomalies_stats_24h"):
        rows = rpc_rows(db, f"select count(*) as n from public.{relation}", claims=claims)
        assert rows[0]["n"] == 0, relation
    assert rpc_rows(db, "select count(*) as n from public.vw_import_anomalies_recent")[0]["n"] == 7


def test_anon_may_not_call_or_read(db, spread) -> None:
    with pytest.raises(errors.InsufficientPrivilege), as_user(db, OPERATOR, role="anon"):
        db.execute("select * from public.fn_anomalies_stats(24)")
    with pytest.raises(errors.InsufficientPrivilege), as_user(db, OPERATOR, role="anon"):
        db.execute("select * from public.vw_import_anomalies_recent")


def test_raw_payloads_stay_out_of_reach_even_for_operators(db) -> None:
    with pytest.raises(errors.InsufficientPrivilege), as_user(db, OPERATOR):
        db.execute("select raw from public.staging_imports")
    for name in ("vw_import_anomalies_recent", "vw_import_anomalies_stats_24h"):
        columns = db.execute("select column_name from information_schema.columns "
                             "where table_name = %s", (name,)).fetchall()
        assert "raw" not in {c["column_name"] for c in columns}


# ------------------------------------------------------------- lifecycle

def test_acknowledge_then_resolve_records_who_and_when(db, spread) -> None:
    target = spread["fresh_ds"]
    acked = rpc_rows(db, "select * from public.fn_anomaly_set_status(%s, 'acknowledged')",
                     (target,))[0]
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged_by"] == "op-1"
    assert acked["acknowledged_at"] is not None
    again = rpc_rows(db, "select * from public.fn_anomaly_set_status(%s, 'acknowledged')",
                     (target,), claims=ADMIN)[0]
    assert again["acknowledged_by"] == "op-1"        # the first acknowledgement stands
    assert again["acknowledged_at"] == acked["acknowledged_at"]
    resolved = rpc_rows(db, "select * from public.fn_anomaly_set_status(%s, 'resolved')",
                        (target,))[0]
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    stored = db.execute("select status, acknowledged_by from import_anomalies where id = %s",
                        (target,)).fetchone()
    assert stored == {"status": "resolved", "acknowledged_by": "op-1"}
    with pytest.raises(errors.ObjectNotInPrerequisiteState), as_user(db, OPERATOR):
        db.execute("select * from public.fn_anomaly_set_status(%s, 'acknowledged')", (target,))
    with pytest.raises(errors.NoDataFound), as_user(db, OPERATOR):
        db.execute("select * from public.fn_anomaly_set_status(999999, 'resolved')")
    with pytest.raises(errors.InvalidParameterValue), as_user(db, OPERATOR):
        db.execute("select * from public.fn_anomaly_set_status(%s, 'open')", (target,))


def test_nobody_updates_anomalies_directly_not_even_the_lifecycle(db, spread) -> None:
    """The lifecycle changes only through fn_anomaly_set_status (0010)."""
    for claims in (OPERATOR, ADMIN, VIEWER):
        for assignment in ("payload_excerpt = 'x'", "status = 'resolved'",
                           "acknowledged_by = 'someone-else'"):
            with pytest.raises(errors.InsufficientPrivilege), as_user(db, claims):
                db.execute(f"update import_anomalies set {assignment} where id = %s",
                           (spread["fresh_ds"],))
    row = db.execute("select status, acknowledged_by from import_anomalies where id = %s",
                     (spread["fresh_ds"],)).fetchone()
    assert row == {"status": "open", "acknowledged_by": None}


# ------------------------------------------------------------- the manager goes through it

def test_manager_reads_under_the_callers_claims(database_url, spread) -> None:
    """The Python manager is refused by the database itself for a viewer."""

    async def run() -> tuple[int, int]:
        async with Database(database_url, max_size=1) as database:
            manager = AnomalyManager(database)
            rows = await manager.recent(OPERATOR, AnomalyFilter(window_hours=24, limit=3))
            stats = await manager.stats(ADMIN, AnomalyFilter(window_hours=1))
            with pytest.raises(NotOperator):
                await manager.recent(VIEWER, AnomalyFilter())
            with pytest.raises(NotOperator):
                await manager.stats({}, AnomalyFilter())
            return len(rows), sum(r["count"] for r in stats)

    assert asyncio.run(run()) == (3, 2)
