"""Migrations: apply on an empty database, once each, safely from two processes at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import psycopg
import pytest

from projects_import.db import migrations


@pytest.fixture
def empty_url(fresh_database: Callable[[str | None], str]) -> str:
    return fresh_database(None)


def recorded(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select version from projects_import_migrations order by version")
        return [r[0] for r in rows.fetchall()]


def everything() -> list[str]:
    """The ledger versions of every migration and definition this version ships, sorted."""
    return sorted([m.version for m in migrations.available()]
                  + [d.version for d in migrations.definitions()])


def test_all_migrations_apply_to_an_empty_database_then_nothing_is_pending(empty_url) -> None:
    applied = migrations.migrate(empty_url)
    assert applied == ([f"{m.version}_{m.name}" for m in migrations.available()]
                       + [d.version for d in migrations.definitions()])
    assert migrations.migrate(empty_url) == []
    assert recorded(empty_url) == everything()


def test_two_processes_migrating_at_once_apply_each_migration_once(empty_url) -> None:
    code = ("import sys; from projects_import.db.migrations import migrate; "
            "print(len(migrate(sys.argv[1])))")
    procs = [subprocess.Popen([sys.executable, "-c", code, empty_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    # The lock is per migration (transaction-scoped, pooler-safe): the two runners may share
    # the work, but together they apply each migration exactly once.
    applied_counts = [int(out.strip()) for out, _ in results]
    assert sum(applied_counts) == len(migrations.available()) + len(migrations.definitions())
    assert recorded(empty_url) == everything()


def test_an_edited_migration_is_refused(empty_url) -> None:
    migrations.migrate(empty_url)
    with psycopg.connect(empty_url, autocommit=True) as conn:
        conn.execute("update projects_import_migrations set checksum = 'edited' "
                     "where version = '0002'")
    with pytest.raises(migrations.MigrationError, match="changed after it was applied"):
        migrations.migrate(empty_url)


def test_supabase_shims_are_created_only_where_missing(database_url) -> None:
    with psycopg.connect(database_url) as conn:
        roles = {r[0] for r in conn.execute(
            "select rolname from pg_roles where rolname in "
            "('anon', 'authenticated', 'service_role')").fetchall()}
        assert roles == {"anon", "authenticated", "service_role"}
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     ('{"sub": "u1", "app_metadata": {"role": "operator"}}',))
        assert conn.execute("select auth.jwt() ->> 'sub'").fetchone() == ("u1",)
        assert conn.execute("select public.fn_is_operator()").fetchone() == (True,)


def test_existing_auth_jwt_is_left_alone(empty_url) -> None:
    """On Supabase auth.jwt() already exists; the shim must not replace it."""
    probe = ("select p.oid, p.prosrc from pg_proc p"
             " where p.oid = to_regprocedure('auth.jwt()')")
    with psycopg.connect(empty_url, autocommit=True) as conn:
        before = conn.execute(probe).fetchone()
        if before is None:  # plain PostgreSQL: play Supabase's part
            conn.execute("create schema auth")
            conn.execute("create function auth.jwt() returns jsonb language sql stable "
                         "as $$ select '{\"provided\": true}'::jsonb $$")
            before = conn.execute(probe).fetchone()
    migrations.migrate(empty_url)
    with psycopg.connect(empty_url) as conn:
        assert conn.execute(probe).fetchone() == before


def test_every_key_starts_with_tenant_id(database_url) -> None:
    """SPEC §1: primary and unique keys lead with tenant_id (distributable by tenant)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("""
            select c.conrelid::regclass::text as tbl, c.conname,
                   (select a.attname from pg_attribute a
                     where a.attrelid = c.conrelid and a.attnum = c.conkey[1]) as first_col
              from pg_constraint c
              join pg_namespace n on n.oid = c.connamespace
             where n.nspname = 'public' and c.contype in ('p', 'u')
        """).fetchall()
    exempt = {"projects_import_migrations", "tenants", "dashboard_users", "dashboard_sessions",
              "import_retention_stats"}
    offenders = [(t, name, col) for t, name, col in rows
                 if col != "tenant_id" and t.removeprefix("public.") not in exempt]
    assert offenders == []


def test_user_roles_cannot_run_writing_functions_or_read_the_ledger(database_url) -> None:
    """As Supabase's PostgREST would call them, with an operator's claims even."""
    with psycopg.connect(database_url) as conn:
        conn.execute("grant all on public.projects_import_migrations to authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     ('{"sub": "u1", "app_metadata": {"role": "admin"}}',))
        conn.execute("set local role authenticated")
        # even with a table grant (Supabase's default privileges), RLS shows nothing
        assert conn.execute("select count(*) from projects_import_migrations").fetchone() == (0,)
        for call in ("select public.fn_projects_import_merge('T', 's', gen_random_uuid(), "
                     "'[]'::jsonb, gen_random_uuid())",
                     "select public.fn_cleanup_import_data(0, 0)",
                     "select public.fn_projects_membership_backfill()"):
            conn.execute("savepoint s")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(call)
            conn.execute("rollback to savepoint s")
