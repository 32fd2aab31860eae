"""fn_projects_membership_backfill: directory fixes reach projects, memberships and anomalies."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.support import batch, create_tenant, project_row, submit

pytestmark = pytest.mark.engine  # SQL backfill functions

ZEROS = {"projects_updated": 0, "org_memberships_added": 0, "user_memberships_added": 0,
         "org_memberships_ended": 0, "user_memberships_ended": 0, "memberships_ended": 0,
         "anomalies_resolved": 0}




def backfill(db: psycopg.Connection[Any], tenant_id: str | None = None) -> dict[str, int]:
    if tenant_id is None:
        row = db.execute("select public.fn_projects_membership_backfill() as c").fetchone()
    else:
        row = db.execute("select public.fn_projects_membership_backfill(%s) as c",
                         (tenant_id,)).fetchone()
    assert row is not None
    counts: dict[str, int] = row["c"]
    return counts


def members(db: psycopg.Connection[Any], key: str) -> set[tuple[str, str]]:
    rows = db.execute("select member, role from vw_project_members "
                      "where tenant_id = 'TELCO' and project_key = %s", (key,)).fetchall()
    return {(r["member"], r["role"]) for r in rows}


def anomalies(db: psycopg.Connection[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    rows = db.execute("select project_key, anomaly_type, status, resolved_at "
                      "from import_anomalies where tenant_id = 'TELCO'").fetchall()
    return {(r["project_key"], r["anomaly_type"]): r for r in rows}


def test_directory_fix_materializes_membership_and_resolves_anomaly(
        db, database_url, tenant, directories) -> None:
    submit(database_url, batch([project_row("STG-1", deployment_specialist="ds.new"),
                                project_row("STG-2")]))
    before = anomalies(db)
    assert before[("STG-1", "UNKNOWN_DS")]["status"] == "open"
    assert ("ds.new", "deployment_specialist") not in members(db, "STG-1")

    db.execute("insert into ds_directory (tenant_id, preferred_username, active) "
               "values ('TELCO', 'DS.New', true)")
    counts = backfill(db)

    assert counts == {**ZEROS, "projects_updated": 1, "user_memberships_added": 1,
                      "anomalies_resolved": 1}
    assert ("DS.New", "deployment_specialist") in members(db, "STG-1")
    after = anomalies(db)[("STG-1", "UNKNOWN_DS")]
    assert after["status"] == "resolved"
    assert after["resolved_at"] is not None
    project = db.execute("select ds_username from projects "
                         "where tenant_id = 'TELCO' and stage_application = 'STG-1'").fetchone()
    assert project == {"ds_username": "DS.New"}

    assert backfill(db) == ZEROS


def test_inactive_ds_loses_membership(db, database_url, tenant, directories) -> None:
    submit(database_url, batch([project_row("STG-1", deployment_specialist="ds.second")]))
    assert ("ds.second", "deployment_specialist") in members(db, "STG-1")

    db.execute("update ds_directory set active = false "
               "where tenant_id = 'TELCO' and preferred_username = 'ds.second'")
    counts = backfill(db)

    assert counts == {**ZEROS, "projects_updated": 1, "user_memberships_ended": 1,
                      "memberships_ended": 1}
    assert members(db, "STG-1") == {("Fulton Hogan Pty Ltd", "delivery_partner"),
                                    ("flast", "relationship_manager")}
    ended = db.execute("select ended_at from project_user_memberships "
                       "where tenant_id = 'TELCO' and username = 'ds.second'").fetchone()
    assert ended is not None and ended["ended_at"] is not None
    assert backfill(db) == ZEROS


def test_partner_remapped_moves_org_membership(db, database_url, tenant, directories) -> None:
    submit(database_url, batch([project_row("STG-1"), project_row("STG-2")]))
    db.execute("update partner_normalization set canonical = 'FH Group' "
               "where tenant_id = 'TELCO' and alias = 'Fulton Hogan'")

    counts = backfill(db)

    assert counts == {**ZEROS, "projects_updated": 2, "org_memberships_added": 2,
                      "org_memberships_ended": 2, "memberships_ended": 2}
    for key in ("STG-1", "STG-2"):
        assert ("FH Group", "delivery_partner") in members(db, key)
        assert ("Fulton Hogan Pty Ltd", "delivery_partner") not in members(db, key)
    org = db.execute("select 1 from organizations "
                     "where tenant_id = 'TELCO' and name = 'FH Group'").fetchone()
    assert org is not None


def test_backfill_right_after_an_import_changes_nothing(
        db, database_url, tenant, directories) -> None:
    """The backfill resolves exactly as the merge does, case by case."""
    db.execute("insert into rm_directory (tenant_id, preferred_username, display_name) "
               "values ('TELCO', 'twin.one', 'Twin Name'), ('TELCO', 'twin.two', 'Twin Name')")
    rows = [
        project_row("STG-ALIAS", delivery_partner="  fulton   HOGAN "),
        project_row("STG-CANON", delivery_partner="downer group"),
        project_row("STG-UNKNOWN-DP", delivery_partner="Nobody Ltd"),
        project_row("STG-RM-USER", relationship_manager="Someone Else",
                    rm_preferred_username="RM.SECOND"),
        project_row("STG-RM-TWIN", relationship_manager="Twin Name"),
        project_row("STG-DS-GONE", deployment_specialist="ds.gone"),
        project_row("STG-BLANK", delivery_partner="", deployment_specialist="",
                    relationship_manager=""),
    ]
    result = submit(database_url, batch(rows))
    assert result["metrics"]["anomalies_count"] == 3

    assert backfill(db) == ZEROS
    assert ("rm.second", "relationship_manager") in members(db, "STG-RM-USER")
    assert ("Downer Group", "delivery_partner") in members(db, "STG-CANON")
    assert members(db, "STG-BLANK") == set()
    statuses = {key: row["status"] for key, row in anomalies(db).items()}
    assert statuses == {("STG-UNKNOWN-DP", "UNKNOWN_DELIVERY_PARTNER"): "open",
                        ("STG-RM-TWIN", "UNKNOWN_RM"): "open",
                        ("STG-DS-GONE", "UNKNOWN_DS"): "open"}


def test_acknowledged_anomalies_resolve_and_others_stay(
        db, database_url, tenant, directories) -> None:
    submit(database_url, batch([
        project_row("STG-1", delivery_partner="New Partner"),
        project_row("STG-2", deployment_specialist="still.unknown"),
    ]))
    db.execute("update import_anomalies set status = 'acknowledged', acknowledged_at = now(), "
               "acknowledged_by = 'op-1' where tenant_id = 'TELCO'")
    db.execute("insert into partner_normalization (tenant_id, alias, canonical) "
               "values ('TELCO', 'new partner', 'New Partner Pty Ltd')")

    counts = backfill(db)

    assert counts["anomalies_resolved"] == 1
    assert counts["org_memberships_added"] == 1
    statuses = {key: row["status"] for key, row in anomalies(db).items()}
    assert statuses == {("STG-1", "UNKNOWN_DELIVERY_PARTNER"): "resolved",
                        ("STG-2", "UNKNOWN_DS"): "acknowledged"}


def test_backfill_of_one_tenant_leaves_the_others(
        db, database_url, tenant, directories) -> None:
    create_tenant(database_url, "OTHER")
    submit(database_url, batch([project_row("STG-1", deployment_specialist="ds.new")]))
    db.execute("insert into ds_directory (tenant_id, preferred_username) "
               "values ('TELCO', 'ds.new')")

    assert backfill(db, "OTHER") == ZEROS
    assert anomalies(db)[("STG-1", "UNKNOWN_DS")]["status"] == "open"
    assert backfill(db, "TELCO")["anomalies_resolved"] == 1

    with pytest.raises(psycopg.errors.InvalidParameterValue, match="unknown tenant"):
        backfill(db, "NOPE")


def test_backfill_waits_for_an_import_of_the_tenant(
        db, database_url, tenant, directories) -> None:
    """It takes the imports' per-tenant lock, so it never interleaves with a merge."""
    with psycopg.connect(database_url) as importer:
        importer.execute("select public.fn_projects_import_lock('TELCO')")
        db.execute("set lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            backfill(db)
        importer.rollback()
    db.execute("reset lock_timeout")
    assert backfill(db) == ZEROS
