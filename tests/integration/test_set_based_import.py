"""Migration 0016: the batch resolution rule answers as the per-row rule of 0003 did, and what
the dropped foreign keys did on delete still happens."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support import batch, project_row, submit

pytestmark = pytest.mark.engine  # the merge's SQL

MIGRATIONS = Path(__file__).resolve().parents[2] / "projects_import" / "sql" / "migrations"


def _rule_of_0003(db: psycopg.Connection[Any]) -> None:
    """The per-row rule as 0003 wrote it, as pg_temp.resolve_0003 (the reference)."""
    text = (MIGRATIONS / "0003_import_merge.sql").read_text()
    body = re.search(r"create or replace function public\.fn_projects_resolve_canonical\("
                     r".*?\$\$;", text, re.S)
    assert body is not None
    db.execute(body.group(0).replace("public.fn_projects_resolve_canonical(",
                                     "pg_temp.resolve_0003("))


def test_the_batch_rule_resolves_as_the_rule_of_0003_did(db, tenant) -> None:
    db.execute("""
        insert into partner_normalization (tenant_id, alias, canonical) values
            ('TELCO', 'Fulton Hogan', 'Fulton Hogan Pty Ltd'),
            ('TELCO', 'FH', 'Fulton Hogan Pty Ltd'),
            ('TELCO', 'Downer', 'Downer Group'),
            ('TELCO', 'Downer Group', 'Downer Group Holdings'),
            ('TELCO', 'Ventia', 'ventia  pty'),
            ('TELCO', 'Ventia2', 'Ventia Pty')""")
    db.execute("""
        insert into ds_directory (tenant_id, preferred_username, active) values
            ('TELCO', 'PREFERRED_USERNAME', true), ('TELCO', 'ds.gone', false)""")
    db.execute("""
        insert into rm_directory (tenant_id, preferred_username, display_name, active) values
            ('TELCO', 'flast', 'First Last', true),
            ('TELCO', 'twin.a', 'Twin Name', true), ('TELCO', 'twin.b', 'twin  name', true),
            ('TELCO', 'old.rm', 'Old Manager', false)""")
    _rule_of_0003(db)
    partners = [None, "", "  ", "Fulton Hogan", "fulton   HOGAN ", "FH", "Downer",
                "Downer Group", "downer group holdings", "Ventia Pty", "Nobody Civil"]
    specialists = [None, "", "PREFERRED_USERNAME", "preferred_username ", "ds.gone", "ghost"]
    managers = [None, "", "First Last", "first   last", "Twin Name", "Old Manager", "Nobody"]
    usernames = [None, "", "flast", "FLAST", "twin.a", "old.rm", "unknown.user"]
    rng = random.Random(16)
    rows = [(rng.choice(partners), rng.choice(specialists), rng.choice(managers),
             rng.choice(usernames)) for _ in range(400)]
    got = db.execute(
        "select ord, partner_org, ds_username, rm_username "
        "from fn_projects_resolve_canonical_batch('TELCO', %s, %s, %s, %s) order by ord",
        [list(column) for column in zip(*rows, strict=True)]).fetchall()
    assert [g["ord"] for g in got] == list(range(1, len(rows) + 1))
    for row, result in zip(rows, got, strict=True):
        expected = db.execute("select * from pg_temp.resolve_0003('TELCO', %s, %s, %s, %s)",
                              row).fetchone()
        single = db.execute("select * from fn_projects_resolve_canonical('TELCO', %s, %s, %s, %s)",
                            row).fetchone()
        assert (result["partner_org"], result["ds_username"], result["rm_username"]) == \
               (expected["partner_org"], expected["ds_username"], expected["rm_username"]), row
        assert single == expected, row
    resolved = {r["partner_org"] for r in got} | {r["rm_username"] for r in got}
    assert {"Fulton Hogan Pty Ltd", "Downer Group", "Downer Group Holdings", "flast",
            "twin.a", None} <= resolved  # the sample reached aliases, names and misses


def test_deleting_a_project_ends_its_memberships_with_it(db, database_url, tenant,
                                                         directories) -> None:
    submit(database_url, batch([project_row("STG-1"), project_row("STG-2")]))
    assert db.execute("select count(*) as n from vw_project_members").fetchone()["n"] == 6
    db.execute("delete from projects where tenant_id = 'TELCO' and stage_application = 'STG-1'")
    left = db.execute("select distinct project_key from vw_project_members").fetchall()
    assert left == [{"project_key": "STG-2"}]
    for table in ("project_org_memberships", "project_user_memberships"):
        assert db.execute(f"select count(*) as n from {table} "
                          "where stage_application = 'STG-1'").fetchone()["n"] == 0


def test_a_deleted_staged_batch_or_problem_leaves_its_occurrences_unlinked(
        db, database_url, tenant, directories) -> None:
    first = submit(database_url, batch([project_row("STG-1", deployment_specialist="ghost")],
                                       batch_id="one"))
    submit(database_url, batch([project_row("STG-2", deployment_specialist="ghost")],
                               batch_id="two"))
    staged = first["metrics"]["staging_id"]
    db.execute("delete from staging_imports where id = %s", (staged,))
    links = db.execute("select project_key, staging_id, problem_id from import_anomalies "
                       "order by project_key").fetchall()
    assert [(r["project_key"], r["staging_id"] is None) for r in links] == [
        ("STG-1", True), ("STG-2", False)]
    problem = links[1]["problem_id"]
    assert problem is not None
    db.execute("delete from import_problems where id = %s", (problem,))
    assert db.execute("select problem_id from import_anomalies where project_key = 'STG-2'"
                      ).fetchone()["problem_id"] is None


def test_a_re_import_of_unchanged_rows_changes_no_membership(db, database_url, tenant,
                                                             directories) -> None:
    rows = [project_row(f"STG-{i}") for i in range(5)]
    submit(database_url, batch(rows, batch_id="a"))
    before = db.execute("select id, since, ended_at from project_user_memberships "
                        "order by id").fetchall()
    again = submit(database_url, batch([*rows, project_row("STG-9")], batch_id="b"))
    assert again["metrics"]["unchanged_projects"] == 5
    assert again["metrics"]["user_memberships_upserted"] == 2  # STG-9's DS and RM only
    after = db.execute("select id, since, ended_at from project_user_memberships "
                       "order by id").fetchall()
    assert after[: len(before)] == before


def test_retention_never_waits_on_an_occurrence_an_import_holds(db, database_url, tenant,
                                                                directories) -> None:
    first = submit(database_url, batch([project_row(f"STG-{i}", deployment_specialist="ghost")
                                        for i in range(3)], batch_id="old"))
    staged = first["metrics"]["staging_id"]
    db.execute("update staging_imports set created_at = now() - interval '61 days' "
               "where id = %s", (staged,))
    with psycopg.connect(database_url) as holder:  # an import resolving one of them
        holder.execute("select id from import_anomalies where staging_id = %s "
                       "order by id limit 1 for update", (staged,))
        with psycopg.connect(database_url, autocommit=True) as retention:
            retention.execute("set lock_timeout = '3s'")
            counts = retention.execute("select fn_cleanup_import_data(60, 90)").fetchone()[0]
        assert counts["staging_imports_deleted"] == 0  # it skipped, it did not wait
        holder.rollback()
    counts = db.execute("select fn_cleanup_import_data(60, 90) as c").fetchone()["c"]
    assert counts["staging_imports_deleted"] == 1
    links = db.execute("select staging_id from import_anomalies").fetchall()
    assert len(links) == 3 and all(r["staging_id"] is None for r in links)
