"""The database as PostgREST (and so supabase-js) reaches it: connected as `authenticator`,
`set local role` to the token's role, the claims in `request.jwt.claims` via set_config, RPCs
called with named arguments. Direct writes are tried on every table of `public` (read from
the catalog, so tables added by later migrations are covered too) as every API role.

On a Supabase-shaped server (see tests/supabase/init) the connection is `authenticator`'s; on
the other lanes the tests that need it skip, and the write matrix runs from the owner's
connection, which may switch to the same roles."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from tests.support import project_row

Conn = psycopg.Connection[Any]

OPERATOR = {"sub": "op-7", "role": "authenticated", "aud": "authenticated",
            "app_metadata": {"role": "operator"}}
VIEWER = {"sub": "viewer-7", "role": "authenticated", "aud": "authenticated",
          "app_metadata": {"role": "viewer"}}
ANON = {"role": "anon"}
SERVICE = {"role": "service_role"}
# (database role, claims) of every caller that must not write directly
UNTRUSTED = {"anon": ("anon", ANON), "user": ("authenticated", VIEWER),
             "operator": ("authenticated", OPERATOR)}
# Tables the service_role key may not touch at all.
CLOSED_TO_SERVICE_ROLE = {"dashboard_users", "dashboard_sessions", "tenant_secrets",
                          "projects_import_migrations"}


def supabase_shaped(conn: Conn) -> bool:
    """Supabase's roles are there and the migrating role is not a superuser."""
    row = conn.execute(
        "select count(*) = 2 as roles, not (select rolsuper from pg_roles"
        " where rolname = current_user) as plain"
        "  from pg_roles where rolname in ('authenticator', 'supabase_admin')").fetchone()
    return bool(row and row["roles"] and row["plain"])


@pytest.fixture
def api(db: Conn, database_url: str) -> Iterator[Conn]:
    """The PostgREST connection: `authenticator` on a Supabase-shaped server, else the owner."""
    if not supabase_shaped(db):
        yield db
        return
    url = make_conninfo(database_url, user="authenticator")
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def supabase(db: Conn) -> None:
    if not supabase_shaped(db):
        pytest.skip("not a Supabase-shaped server (PROJECTS_IMPORT_TEST_ADMIN_URL)")


@contextmanager
def request(conn: Conn, role: str, claims: dict[str, Any]) -> Iterator[Conn]:
    """One PostgREST request: a transaction under `role` with `claims`."""
    with conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        yield conn


def add_anomaly(db: Conn, tenant: str = "TELCO") -> int:
    row = db.execute(
        "insert into import_anomalies (tenant_id, batch_id, row_index, project_key,"
        " anomaly_type, severity, payload_excerpt, correlation_id)"
        " values (%s, %s, 0, 'STG-1', 'UNKNOWN_DS', 'error', '{}', %s) returning id",
        (tenant, uuid.uuid4(), uuid.uuid4())).fetchone()
    assert row is not None
    return int(row["id"])


def service_tables(db: Conn) -> list[str]:
    rows = db.execute(
        "select c.relname from pg_class c"
        " where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')"
        "   and pg_get_userbyid(c.relowner) = current_user order by 1").fetchall()
    return [r["relname"] for r in rows]


def columns(db: Conn, table: str) -> list[str]:
    rows = db.execute(
        "select attname from pg_attribute where attrelid = %s::regclass"
        " and attnum > 0 and not attisdropped order by attnum",
        (f"public.{table}",)).fetchall()
    return [r["attname"] for r in rows]


def direct_writes(db: Conn, table: str) -> list[sql.Composed]:
    """Every direct write on `table`: UPDATE of each column, INSERT, DELETE, TRUNCATE."""
    name = sql.Identifier("public", table)
    writes = [sql.SQL("update {} set {} = default").format(name, sql.Identifier(col))
              for col in columns(db, table)]
    writes += [sql.SQL("insert into {} default values").format(name),
               sql.SQL("delete from {}").format(name),
               sql.SQL("truncate {}").format(name)]
    return writes


def test_the_catalog_lists_the_service_tables(db) -> None:
    tables = service_tables(db)
    assert {"import_anomalies", "staging_imports", "tenant_secrets", "dashboard_users",
            "projects_import_migrations"} <= set(tables)


@pytest.mark.parametrize("caller", sorted(UNTRUSTED))
def test_every_direct_write_on_every_table_is_refused(db, api, tenant, caller) -> None:
    anomaly = add_anomaly(db)
    role, claims = UNTRUSTED[caller]
    tried = 0
    for table in service_tables(db):
        for statement in direct_writes(db, table):
            with pytest.raises(errors.InsufficientPrivilege), request(api, role, claims):
                api.execute(statement)
            tried += 1
        privileges = db.execute(
            "select p from unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',"
            " 'TRIGGER']) p where has_table_privilege(%s, %s, p)",
            (role, f"public.{table}")).fetchall()
        assert privileges == [], f"{role} holds {privileges} on {table}"
    assert tried > 50
    row = db.execute("select status, acknowledged_by, payload_excerpt from import_anomalies"
                     " where id = %s", (anomaly,)).fetchone()
    assert row == {"status": "open", "acknowledged_by": None, "payload_excerpt": "{}"}


def test_service_role_never_truncates_and_never_touches_logins_or_secrets(db, api) -> None:
    for table in service_tables(db):
        statements = direct_writes(db, table)
        if table not in CLOSED_TO_SERVICE_ROLE:
            statements = statements[-1:]        # TRUNCATE only; it may write the data tables
        for statement in statements:
            with pytest.raises(errors.InsufficientPrivilege), request(api, "service_role",
                                                                      SERVICE):
                api.execute(statement)


def test_anon_and_plain_users_get_nothing_from_the_rpcs_or_tables(db, api, tenant) -> None:
    add_anomaly(db)
    for role, claims in (("anon", ANON), ("authenticated", VIEWER)):
        with pytest.raises(errors.InsufficientPrivilege), request(api, role, claims):
            api.execute("select * from public.fn_anomalies_for_operator(p_window_hours => 24)")
        with pytest.raises(errors.InsufficientPrivilege), request(api, role, claims):
            api.execute("select * from public.fn_anomaly_set_status(p_id => 1,"
                        " p_status => 'acknowledged')")
    with request(api, "authenticated", VIEWER):
        assert api.execute("select count(*) as n from import_anomalies").fetchone() == {"n": 0}
    with pytest.raises(errors.InsufficientPrivilege), request(api, "anon", ANON):
        api.execute("select count(*) from import_anomalies")


def test_operator_reads_and_walks_the_lifecycle_as_itself(db, api, tenant) -> None:
    anomaly = add_anomaly(db)
    forged = dict(OPERATOR, sub="op-7")
    with request(api, "authenticated", forged):
        rows = api.execute("select id from public.fn_anomalies_for_operator("
                           "p_window_hours => 24, p_tenant => 'TELCO')").fetchall()
        assert [r["id"] for r in rows] == [anomaly]
        stats = api.execute("select sum(count) as n from public.fn_anomalies_stats("
                            "p_window_hours => 24)").fetchone()
        assert stats == {"n": 1}
        acked = api.execute("select status, acknowledged_by from public.fn_anomaly_set_status("
                            "p_id => %s, p_status => 'acknowledged')", (anomaly,)).fetchone()
        assert acked == {"status": "acknowledged", "acknowledged_by": "op-7"}
    with request(api, "authenticated", dict(OPERATOR, sub="op-8")):
        api.execute("select * from public.fn_anomaly_set_status(p_id => %s,"
                    " p_status => 'resolved')", (anomaly,))
    with (pytest.raises(errors.ObjectNotInPrerequisiteState),
          request(api, "authenticated", OPERATOR)):
        api.execute("select * from public.fn_anomaly_set_status(p_id => %s,"
                    " p_status => 'acknowledged')", (anomaly,))
    row = db.execute("select status, acknowledged_by from import_anomalies where id = %s",
                     (anomaly,)).fetchone()
    assert row == {"status": "resolved", "acknowledged_by": "op-7"}


def test_service_role_runs_the_server_jobs_and_reads_anomalies(db, api, directories) -> None:
    rows = json.dumps([project_row("STG-1", deployment_specialist="nobody")])
    with request(api, "service_role", SERVICE):
        merged = api.execute(
            "select public.fn_projects_import_merge(tenant_id => 'TELCO',"
            " source => 'service-key', batch_id => %s, rows => %s::jsonb,"
            " correlation_id => %s) as m",
            (uuid.uuid4(), rows, uuid.uuid4())).fetchone()
        assert merged is not None and merged["m"]["anomalies_count"] == 1
        found = api.execute("select id, anomaly_type from public.fn_anomalies_for_operator("
                            "p_window_hours => 1)").fetchall()
        assert [r["anomaly_type"] for r in found] == ["UNKNOWN_DS"]
        acked = api.execute("select status from public.fn_anomaly_set_status("
                            "p_id => %s, p_status => 'acknowledged')",
                            (found[0]["id"],)).fetchone()
        assert acked == {"status": "acknowledged"}
        api.execute("select public.fn_projects_membership_backfill(p_tenant_id => 'TELCO')")
        cleaned = api.execute("select public.fn_cleanup_import_data(p_imports_days => 60,"
                              " p_anomalies_days => 90) as c").fetchone()
        assert cleaned is not None and cleaned["c"]["complete"] is True


def test_authenticator_alone_reads_and_runs_nothing(supabase, db, api, tenant) -> None:
    add_anomaly(db)
    with pytest.raises(errors.InsufficientPrivilege):
        api.execute("select count(*) from import_anomalies")
    with pytest.raises(errors.InsufficientPrivilege):
        api.execute("select public.fn_cleanup_import_data()")


def test_migrations_ran_without_superuser(supabase, db) -> None:
    row = db.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    assert row == {"rolsuper": False}
    assert db.execute("select auth.uid() is null as empty").fetchone() == {"empty": True}
