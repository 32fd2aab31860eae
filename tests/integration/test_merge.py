"""fn_projects_import_merge: memberships follow the data, anomalies per SPEC §5.4, idempotency."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from tests.support import project_row


def merge(db: psycopg.Connection[Any], rows: list[dict[str, Any]],
          batch_id: uuid.UUID | None = None) -> dict[str, Any]:
    result = db.execute(
        "select public.fn_projects_import_merge(%s, %s, %s, %s, %s) as m",
        ("TELCO", "test", batch_id or uuid.uuid4(), json.dumps(rows), uuid.uuid4()),
    ).fetchone()
    return result["m"]


def members(db: psycopg.Connection[Any], key: str) -> set[tuple[str, str, str]]:
    rows = db.execute("select member_type, member, role from vw_project_members "
                      "where tenant_id = 'TELCO' and project_key = %s", (key,)).fetchall()
    return {(r["member_type"], r["member"], r["role"]) for r in rows}


def anomalies(db: psycopg.Connection[Any], status: str = "open") -> list[tuple[str, str, str]]:
    rows = db.execute("select project_key, anomaly_type, severity from import_anomalies "
                      "where status = %s order by project_key, anomaly_type", (status,)).fetchall()
    return [(r["project_key"], r["anomaly_type"], r["severity"]) for r in rows]


pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("directories")]


def test_memberships_resolve_case_and_whitespace_insensitively(db) -> None:
    merge(db, [project_row("STG-1", delivery_partner="  fulton   HOGAN ",
                           deployment_specialist="preferred_username",
                           relationship_manager="first  last")])
    assert members(db, "STG-1") == {
        ("org", "Fulton Hogan Pty Ltd", "delivery_partner"),
        ("user", "PREFERRED_USERNAME", "deployment_specialist"),
        ("user", "flast", "relationship_manager"),
    }
    assert anomalies(db) == []


def test_rm_preferred_username_resolves_the_rm(db) -> None:
    merge(db, [project_row("STG-1", relationship_manager="", rm_preferred_username="RM.SECOND")])
    assert ("user", "rm.second", "relationship_manager") in members(db, "STG-1")


def test_an_unknown_rm_preferred_username_is_an_anomaly_even_if_the_name_matches(db) -> None:
    metrics = merge(db, [project_row("STG-1", relationship_manager="First Last",
                                     rm_preferred_username="nobody")])
    assert metrics["anomalies_count"] == 1
    assert anomalies(db) == [("STG-1", "UNKNOWN_RM", "error")]
    assert ("user", "flast", "relationship_manager") not in members(db, "STG-1")


def test_an_ambiguous_rm_display_name_does_not_resolve(db) -> None:
    db.execute("insert into rm_directory (tenant_id, preferred_username, display_name) "
               "values ('TELCO', 'flast2', 'First Last')")
    merge(db, [project_row("STG-1")])
    assert anomalies(db) == [("STG-1", "UNKNOWN_RM", "error")]


def test_reassignment_ends_old_memberships(db) -> None:
    merge(db, [project_row("STG-1")])
    metrics = merge(db, [project_row("STG-1", deployment_specialist="ds.second",
                                     delivery_partner="Downer",
                                     relationship_manager="Second Manager")])
    assert metrics["updated_projects"] == 1
    assert metrics["memberships_ended"] == 3
    assert metrics["org_memberships_upserted"] == 1 and metrics["user_memberships_upserted"] == 2
    assert members(db, "STG-1") == {
        ("org", "Downer Group", "delivery_partner"),
        ("user", "ds.second", "deployment_specialist"),
        ("user", "rm.second", "relationship_manager"),
    }
    ended = db.execute("select username from project_user_memberships "
                       "where ended_at is not null order by username").fetchall()
    assert [r["username"] for r in ended] == ["PREFERRED_USERNAME", "flast"]


def test_a_person_removed_from_a_project_loses_access(db) -> None:
    merge(db, [project_row("STG-1")])
    merge(db, [project_row("STG-1", deployment_specialist="", delivery_partner="")])
    assert members(db, "STG-1") == {("user", "flast", "relationship_manager")}


def test_unknown_values_become_anomalies_with_documented_severity(db) -> None:
    metrics = merge(db, [
        project_row("STG-1", delivery_partner="Acme Civil"),
        project_row("STG-2", deployment_specialist="ds.gone"),           # inactive
        project_row("STG-3", relationship_manager="Nobody Known"),
        project_row("STG-4", relationship_manager="", rm_preferred_username="nobody"),
        project_row("STG-5", delivery_partner="", deployment_specialist="",
                    relationship_manager=""),                            # blanks: no anomaly
    ])
    assert metrics["anomalies_count"] == 4
    assert anomalies(db) == [
        ("STG-1", "UNKNOWN_DELIVERY_PARTNER", "warning"),
        ("STG-2", "UNKNOWN_DS", "error"),
        ("STG-3", "UNKNOWN_RM", "error"),
        ("STG-4", "UNKNOWN_RM", "error"),
    ]


def test_payload_excerpt_is_that_rows_json_capped_at_500(db) -> None:
    long = "z" * 256
    merge(db, [project_row("STG-1"),
               project_row("STG-2", deployment_specialist="ghost", developer_class=long,
                           delivery_partner="Fulton Hogan " + "y" * 200)])
    rows = db.execute("select project_key, row_index, payload_excerpt from import_anomalies"
                      ).fetchall()
    assert {r["project_key"] for r in rows} == {"STG-2"}
    for row in rows:
        assert row["row_index"] == 1
        assert len(row["payload_excerpt"]) == 500
        assert row["payload_excerpt"].startswith("{")
        assert "STG-1" not in row["payload_excerpt"]


def test_running_the_merge_twice_changes_nothing(db) -> None:
    rows = [project_row("STG-1"), project_row("STG-2", deployment_specialist="ghost")]
    batch_id = uuid.uuid4()
    merge(db, rows, batch_id)
    snapshot = {t: db.execute(f"select * from {t} order by 1, 2").fetchall()
                for t in ("projects", "project_org_memberships", "project_user_memberships",
                          "import_anomalies", "organizations")}
    again = merge(db, rows, batch_id)
    assert (again["inserted_projects"], again["updated_projects"], again["unchanged_projects"],
            again["org_memberships_upserted"], again["user_memberships_upserted"],
            again["memberships_ended"]) == (0, 0, 2, 0, 0, 0)
    for table, before in snapshot.items():
        assert db.execute(f"select * from {table} order by 1, 2").fetchall() == before, table


def test_a_fixed_row_resolves_its_earlier_anomaly(db) -> None:
    merge(db, [project_row("STG-1", deployment_specialist="ghost")])
    assert anomalies(db) == [("STG-1", "UNKNOWN_DS", "error")]
    metrics = merge(db, [project_row("STG-1")])
    assert metrics["anomalies_resolved"] == 1
    assert anomalies(db) == []
    assert anomalies(db, "resolved") == [("STG-1", "UNKNOWN_DS", "error")]


def test_tenants_do_not_see_each_others_directories(db) -> None:
    db.execute("insert into tenants (tenant_id) values ('OTHER')")
    result = db.execute(
        "select public.fn_projects_import_merge('OTHER', 's', gen_random_uuid(), %s, "
        "gen_random_uuid()) as m", (json.dumps([project_row("STG-1")]),)).fetchone()["m"]
    assert result["anomalies_count"] == 3
    assert db.execute("select count(*) as n from projects where tenant_id = 'TELCO'"
                      ).fetchone()["n"] == 0


def test_merge_rejects_rows_without_a_key(db) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        merge(db, [{"delivery_partner": "x"}])
