"""Directory edits in the database (migration 0024): admin-only writers that audit every
change, and trigram suggestions for an unknown value."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.support import as_user, batch, project_row, submit

pytestmark = pytest.mark.engine  # admin-only SQL writers, trigram suggestions


def test_an_admin_adds_an_alias_and_the_change_is_audited(db, tenant, directories) -> None:
    with as_user(db, "admin", "boss@example.com"):
        added = db.execute("select fn_directory_partner_set('TELCO', ' Acme Civil ', "
                           "'Acme Civil Pty Ltd') as r").fetchone()["r"]
        same = db.execute("select fn_directory_partner_set('TELCO', 'acme  civil', "
                          "'Acme Civil Pty Ltd') as r").fetchone()["r"]
        changed = db.execute("select fn_directory_partner_set('TELCO', 'Acme Civil', "
                             "'Acme Group') as r").fetchone()["r"]
        again = db.execute("select fn_directory_partner_set('TELCO', 'Acme Civil', "
                           "'Acme Group') as r").fetchone()["r"]
    assert added["action"] == "add" and added["change_id"] is not None
    assert same["action"] == "update"  # same alias key, another spelling
    assert changed["action"] == "update"
    assert again["change_id"] is None  # nothing changed, nothing audited
    row = db.execute("select alias, canonical from partner_normalization "
                     "where tenant_id = 'TELCO' and alias_key = 'acme civil'").fetchone()
    assert row == {"alias": "Acme Civil", "canonical": "Acme Group"}
    audit = db.execute("select actor, action, directory, before, after from directory_changes "
                       "order by id").fetchall()
    assert [a["action"] for a in audit] == ["add", "update", "update"]
    assert {a["actor"] for a in audit} == {"boss@example.com"}
    assert audit[0]["before"] is None
    assert audit[0]["after"] == {"alias": "Acme Civil", "canonical": "Acme Civil Pty Ltd"}
    assert audit[2]["before"] == {"alias": "acme  civil", "canonical": "Acme Civil Pty Ltd"}


def test_people_are_added_deactivated_and_reactivated(db, tenant, directories) -> None:
    with as_user(db, "admin"):
        actions = [db.execute("select fn_directory_person_set(%s, %s, %s, %s, %s) as r",
                              args).fetchone()["r"]["action"]
                   for args in (("TELCO", "ds", "new.ds", "New Person", True),
                                ("TELCO", "ds", "NEW.DS", "", False),
                                ("TELCO", "ds", "new.ds", None, True),
                                ("TELCO", "rm", "rm.new", "Rose Manager", True),
                                ("TELCO", "rm", "rm.new", "Rose M. Manager", True))]
        unchanged = db.execute("select fn_directory_person_set('TELCO', 'ds', 'new.ds', "
                               "'New Person', true) as r").fetchone()["r"]
    assert actions == ["add", "deactivate", "reactivate", "add", "update"]
    assert unchanged["change_id"] is None
    ds = db.execute("select preferred_username, display_name, active from ds_directory "
                    "where username_key = 'new.ds'").fetchone()
    assert ds == {"preferred_username": "new.ds", "display_name": "New Person", "active": True}
    assert db.execute("select count(*) as n from directory_changes").fetchone()["n"] == 5


@pytest.mark.parametrize("role", ["operator", "viewer", ""])
def test_only_an_admin_may_write_and_nobody_writes_the_tables_directly(
        db, tenant, directories, role) -> None:
    for statement in (
        "select fn_directory_partner_set('TELCO', 'Acme', 'Acme Pty Ltd')",
        "select fn_directory_partner_remove('TELCO', 'Downer')",
        "select fn_directory_person_set('TELCO', 'ds', 'x', 'X', true)",
        "insert into directory_changes (tenant_id, actor, action, directory) "
        "values ('TELCO', 'me', 'add', 'ds')",
        "update partner_normalization set canonical = 'x'",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(db, role):
            db.execute(statement)
    assert db.execute("select count(*) as n from directory_changes").fetchone()["n"] == 0
    assert db.execute("select count(*) as n from partner_normalization").fetchone()["n"] == 2


def test_writers_name_what_is_wrong(db, tenant, directories) -> None:
    invalid, missing = psycopg.errors.InvalidParameterValue, psycopg.errors.NoDataFound
    cases = [
        ("select fn_directory_partner_set('TELCO', '  ', 'X')", invalid),
        ("select fn_directory_partner_set('NOPE', 'a', 'X')", missing),
        ("select fn_directory_partner_remove('TELCO', 'never there')", missing),
        ("select fn_directory_person_set('TELCO', 'xx', 'a', 'A', true)", invalid),
        ("select fn_directory_person_set('TELCO', 'rm', 'no.name', '', true)", invalid),
    ]
    for statement, error in cases:
        with pytest.raises(error), as_user(db, "admin"):
            db.execute(statement)


def test_removing_an_alias_is_audited_with_the_row_it_removed(db, tenant, directories) -> None:
    with as_user(db, "admin"):
        result = db.execute("select fn_directory_partner_remove('TELCO', 'DOWNER') as r"
                            ).fetchone()["r"]
    assert result["action"] == "remove"
    audit = db.execute("select before, after from directory_changes").fetchone()
    assert audit == {"before": {"alias": "Downer", "canonical": "Downer Group"}, "after": None}


def test_suggestions_rank_the_closest_directory_entries(db, tenant, directories) -> None:
    with as_user(db, "operator"):
        partners = db.execute("select * from fn_directory_suggestions('TELCO', "
                              "'UNKNOWN_DELIVERY_PARTNER', 'Fulton Hogen')").fetchall()
        ds = db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_DS', "
                        "'PREFERED_USERNAME')").fetchall()
        gone = db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_DS', "
                          "'ds.gone')").fetchall()
        rm = db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_RM', "
                        "'Frist Last')").fetchall()
        nothing = db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_RM', "
                             "'zzzz')").fetchall()
    assert partners[0]["canonical"] == "Fulton Hogan Pty Ltd"
    assert partners[0]["matched"] == "Fulton Hogan" and partners[0]["score"] > 0.5
    assert all(p["canonical"] != "Downer Group" for p in partners)
    assert ds[0]["username"] == "PREFERRED_USERNAME" and ds[0]["active"]
    assert [(g["username"], g["active"], g["score"]) for g in gone] == [("ds.gone", False, 1.0)]
    assert rm[0]["username"] == "flast" and rm[0]["matched"] == "First Last"
    assert nothing == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(db, "viewer"):
        db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_DS', 'x')")


def test_a_partner_fix_re_resolves_just_the_affected_projects_and_resolves_their_problems(
        db, database_url, tenant, directories) -> None:
    submit(database_url, batch([
        project_row("STG-1", delivery_partner="Acme Civil"),
        project_row("STG-2", delivery_partner="acme  civil", deployment_specialist="ghost"),
        project_row("STG-3", delivery_partner="Other Mob"),
    ]))
    open_before = problems_by_status(db)
    assert open_before == {"open": 4}
    with as_user(db, "admin", "boss@example.com"):
        change = db.execute("select fn_directory_partner_set('TELCO', 'Acme Civil', "
                            "'Fulton Hogan Pty Ltd') as r").fetchone()["r"]
        effect = db.execute("select fn_directory_change_apply('TELCO', %s) as r",
                            (change["change_id"],)).fetchone()["r"]
        again = db.execute("select fn_directory_change_apply('TELCO', %s) as r",
                           (change["change_id"],)).fetchone()["r"]
    assert effect["projects"] == 2 and effect["problems_resolved"] == 2
    assert effect["org_memberships_added"] == 2
    assert again["problems_resolved"] == 0
    fixed = db.execute("select project_key, status, resolution, resolved_by from import_problems "
                       "where anomaly_type = 'UNKNOWN_DELIVERY_PARTNER' order by project_key"
                       ).fetchall()
    assert [(f["project_key"], f["status"], f["resolution"]) for f in fixed] == [
        ("STG-1", "resolved", "directory_fix"), ("STG-2", "resolved", "directory_fix"),
        ("STG-3", "open", None)]
    members = db.execute("select project_key, member from vw_project_members "
                         "where role = 'delivery_partner' order by project_key").fetchall()
    assert [(m["project_key"], m["member"]) for m in members] == [
        ("STG-1", "Fulton Hogan Pty Ltd"), ("STG-2", "Fulton Hogan Pty Ltd")]
    recorded = db.execute("select effect from directory_changes").fetchone()["effect"]
    assert recorded["problems_resolved"] == 2  # the first application's effect stays
    assert problems_by_status(db) == {"open": 2, "resolved": 2}


def test_the_project_scoped_backfill_leaves_other_projects_alone(
        db, database_url, tenant, directories) -> None:
    submit(database_url, batch([project_row("STG-1", deployment_specialist="late.ds"),
                              project_row("STG-2", deployment_specialist="late.ds")]))
    db.execute("insert into ds_directory (tenant_id, preferred_username) "
               "values ('TELCO', 'late.ds')")
    counts = db.execute("select fn_projects_membership_backfill('TELCO', array['STG-1']) as r"
                        ).fetchone()["r"]
    assert counts["projects_updated"] == 1 and counts["user_memberships_added"] == 1
    status = {r["project_key"]: r["status"] for r in db.execute(
        "select project_key, status from import_problems").fetchall()}
    assert status == {"STG-1": "resolved", "STG-2": "open"}
    assert db.execute("select fn_projects_membership_backfill('TELCO') as r"
                      ).fetchone()["r"]["projects_updated"] == 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(db, "admin"):
        db.execute("select fn_projects_membership_backfill('TELCO', null)")


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_an_admin_applies_a_change(db, tenant, directories, role) -> None:
    with as_user(db, "admin"):
        change = db.execute("select fn_directory_partner_set('TELCO', 'A', 'B') as r"
                            ).fetchone()["r"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(db, role):
        db.execute("select fn_directory_change_apply('TELCO', %s)", (change["change_id"],))


def problems_by_status(db: psycopg.Connection[Any]) -> dict[str, int]:
    rows = db.execute("select status, count(*) as n from import_problems group by status"
                      ).fetchall()
    return {r["status"]: r["n"] for r in rows}


def test_a_temp_table_planted_by_the_caller_is_never_used_by_the_definer(
        db, database_url, tenant, directories) -> None:
    """A caller who creates `pg_temp.membership_sync` with a trigger before applying a change
    must not get that trigger run as the function's owner (who bypasses RLS)."""
    submit(database_url, batch([project_row("STG-1", delivery_partner="Acme Civil")]))
    with as_user(db, "admin", "boss@example.com"):
        db.execute("create temp table membership_sync (tenant_id text, stage_application text,"
                   " partner_org text, ds_username text, rm_username text)")
        db.execute("create function pg_temp.planted() returns trigger language plpgsql as $$"
                   " begin raise exception 'planted trigger ran as %', current_user; end $$")
        db.execute("create trigger planted before insert or update or delete or truncate "
                   "on pg_temp.membership_sync for each statement "
                   "execute function pg_temp.planted()")
        change = db.execute("select fn_directory_partner_set('TELCO', 'Acme Civil', "
                            "'Fulton Hogan Pty Ltd') as r").fetchone()["r"]
        effect = db.execute("select fn_directory_change_apply('TELCO', %s) as r",
                            (change["change_id"],)).fetchone()["r"]
        assert db.execute("select count(*) as n from pg_temp.membership_sync"
                          ).fetchone()["n"] == 0
    assert effect["projects"] == 1 and effect["org_memberships_added"] == 1
