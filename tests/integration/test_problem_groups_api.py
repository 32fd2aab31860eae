"""GET /anomalies/problems/groups and the group acknowledge/resolve steps (SPEC §10), over real
HTTP on real PostgreSQL: counts, filters, paging, who may, and steps that act on what they can
and say per problem what they skipped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest

from projects_import.auth import mint_token
from tests.support import JWT_SECRET, batch, project_row

MONDAY = "projects-day1-part-001"
TUESDAY = "projects-day2-part-001"
GROUP_FIELDS = {"tenant_id", "anomaly_type", "severity", "unknown_value", "problems",
                "projects", "occurrences", "first_seen_at", "last_seen_at", "ack_due_at",
                "statuses"}


OPERATOR = '{"sub": "op", "role": "authenticated", "app_metadata": {"role": "operator"}}'
VIEWER = '{"sub": "v", "role": "authenticated", "app_metadata": {"role": "viewer"}}'


def auth(role: str = "operator", sub: str | None = None) -> dict[str, str]:
    token = mint_token(JWT_SECRET, sub=sub or f"user-{role}", role=role)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def causes(http: httpx.Client, tenant: tuple[str, str], directories: None) -> dict[str, str]:
    """Monday: "Fulton Hogen" in P1-P3, DS "jsmith2" in P1 and P4. Tuesday: "Fulton Hogen"
    again in P1, P2 and now P5; "jsmith2" again in P1 and P4. Groups: Fulton Hogen
    (4 problems, 6 occurrences), jsmith2 (2 problems, 4 occurrences)."""
    bearer = {"Authorization": f"Bearer {tenant[1]}"}
    monday = [project_row("P1", delivery_partner="Fulton Hogen", deployment_specialist="jsmith2"),
              project_row("P2", delivery_partner="Fulton Hogen"),
              project_row("P3", delivery_partner="Fulton Hogen"),
              project_row("P4", deployment_specialist="jsmith2")]
    tuesday = [project_row("P1", delivery_partner="Fulton Hogen",
                           deployment_specialist="jsmith2"),
               project_row("P2", delivery_partner="Fulton Hogen"),
               project_row("P4", deployment_specialist="jsmith2"),
               project_row("P5", delivery_partner="Fulton Hogen")]
    ids = {}
    for rows, batch_id in ((monday, MONDAY), (tuesday, TUESDAY)):
        answer = http.post("/import-projects", json=batch(rows, batch_id=batch_id),
                           headers=bearer)
        assert answer.status_code == 200, answer.text
        ids[batch_id] = answer.json()["batch_id"]
    return ids


def groups(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = http.get("/anomalies/problems/groups", params=params, headers=auth())
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["groups"]
    return rows


def by_value(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["unknown_value"]: row for row in rows}


def step(http: httpx.Client, action: str, value: str, kind: str, note: str | None = None,
         role: str = "operator") -> httpx.Response:
    body: dict[str, Any] = {"tenant_id": "TELCO", "anomaly_type": kind, "unknown_value": value}
    if note is not None:
        body["note"] = note
    return http.post(f"/anomalies/problems/groups/{action}", json=body, headers=auth(role))


def test_groups_count_problems_projects_and_occurrences(http, db, causes) -> None:
    found = by_value(groups(http))
    assert set(found) == {"Fulton Hogen", "jsmith2"}
    fulton, ds = found["Fulton Hogen"], found["jsmith2"]
    assert set(fulton) >= GROUP_FIELDS
    assert (fulton["problems"], fulton["projects"], fulton["occurrences"]) == (4, 4, 6)
    assert (ds["problems"], ds["projects"], ds["occurrences"]) == (2, 2, 4)
    assert fulton["anomaly_type"] == "UNKNOWN_DELIVERY_PARTNER"
    assert fulton["severity"] == "warning"
    assert ds["severity"] == "error"
    assert fulton["statuses"] == {"open": 4, "acknowledged": 0, "resolved": 0}
    # the figures are the problems' own: compare with the problem list and the table
    problems = http.get("/anomalies/problems", params={"anomaly_type": "UNKNOWN_DS"},
                        headers=auth()).json()["problems"]
    assert sum(p["occurrences"] for p in problems) == ds["occurrences"]
    due = db.execute("select min(ack_due_at) a, min(first_seen_at) f, max(last_seen_at) l "
                     "from import_problems where unknown_value = 'Fulton Hogen'").fetchone()
    assert [datetime.fromisoformat(fulton[k])
            for k in ("ack_due_at", "first_seen_at", "last_seen_at")] == list(due.values())
    assert fulton["first_batch_id"] == causes[MONDAY]


def test_group_filters_are_the_problems_filters(http, causes) -> None:
    assert set(by_value(groups(http, anomaly_type="UNKNOWN_DS"))) == {"jsmith2"}
    assert set(by_value(groups(http, severity="warning"))) == {"Fulton Hogen"}
    assert by_value(groups(http, project_key="P1"))["Fulton Hogen"]["problems"] == 1
    # batch filter: problems with an occurrence in that batch (P3 was seen on Monday only)
    tuesday = by_value(groups(http, batch_id=TUESDAY, tenant="TELCO"))
    assert tuesday["Fulton Hogen"]["problems"] == 3 and tuesday["jsmith2"]["problems"] == 2
    assert groups(http, tenant="OTHER") == []
    assert groups(http, status="resolved") == []
    response = http.get("/anomalies/problems/groups", params={"anomaly_typ": "UNKNOWN_DS"},
                        headers=auth())
    assert response.status_code == 400 and "'anomaly_typ'" in response.text


def test_groups_page_with_a_cursor_of_their_own(http, causes) -> None:
    first = http.get("/anomalies/problems/groups", params={"limit": 1}, headers=auth()).json()
    assert len(first["groups"]) == 1 and first["next_cursor"]
    second = http.get("/anomalies/problems/groups",
                      params={"limit": 1, "cursor": first["next_cursor"]}, headers=auth()).json()
    assert len(second["groups"]) == 1 and second["next_cursor"] is None
    assert {first["groups"][0]["unknown_value"], second["groups"][0]["unknown_value"]} == {
        "Fulton Hogen", "jsmith2"}
    # a problems cursor is not a groups cursor
    problems = http.get("/anomalies/problems", params={"limit": 1}, headers=auth()).json()
    refused = http.get("/anomalies/problems/groups",
                       params={"cursor": problems["next_cursor"]}, headers=auth())
    assert refused.status_code == 400 and "cursor" in refused.text


@pytest.mark.parametrize("role", ["viewer", "anon"])
def test_only_operators_read_or_act_on_groups(http, database_url, causes, role) -> None:
    headers = {} if role == "anon" else auth(role)
    assert http.get("/anomalies/problems/groups", headers=headers).status_code in (401, 403)
    body = {"tenant_id": "TELCO", "anomaly_type": "UNKNOWN_DS", "unknown_value": "jsmith2"}
    assert http.post("/anomalies/problems/groups/resolve", json=body,
                     headers=headers).status_code in (401, 403)
    # and the database refuses a viewer by itself
    with psycopg.connect(database_url, autocommit=False) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     [VIEWER])
        conn.execute("set local role authenticated")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from fn_problem_group_set_status('TELCO', 'UNKNOWN_DS', "
                         "'jsmith2', 'resolved')")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from import_problems where status <> 'open'"
                            ).fetchone() == (0,)


def test_group_acknowledge_acts_on_open_problems_and_says_what_it_skipped(http, db,
                                                                          causes) -> None:
    one = http.get("/anomalies/problems", params={"project_key": "P2",
                                                  "anomaly_type": "UNKNOWN_DELIVERY_PARTNER"},
                   headers=auth()).json()["problems"][0]
    three = http.get("/anomalies/problems", params={"project_key": "P3"},
                     headers=auth()).json()["problems"][0]
    assert http.post(f"/anomalies/problems/{one['id']}/acknowledge",
                     headers=auth()).status_code == 200
    assert http.post(f"/anomalies/problems/{three['id']}/resolve",
                     headers=auth()).status_code == 200

    response = step(http, "acknowledge", "Fulton Hogen", "UNKNOWN_DELIVERY_PARTNER",
                    note="asked upstream", role="operator")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["changed"], answer["skipped"], answer["status"]) == (2, 2, "acknowledged")
    outcomes = {row["project_key"]: row for row in answer["problems"]}
    assert [row["id"] for row in answer["problems"]] == sorted(row["id"]
                                                               for row in answer["problems"])
    assert outcomes["P2"]["outcome"] == "skipped" and outcomes["P2"]["reason"] == (
        "already acknowledged")
    assert outcomes["P3"]["outcome"] == "skipped" and outcomes["P3"]["reason"] == (
        "already resolved")
    assert {outcomes[k]["outcome"] for k in ("P1", "P5")} == {"acknowledged"}
    rows = db.execute("select project_key, status, acknowledged_by, note from import_problems "
                      "where unknown_value = 'Fulton Hogen' order by project_key").fetchall()
    assert [tuple(row.values()) for row in rows] == [
        ("P1", "acknowledged", "user-operator", "asked upstream"),
        ("P2", "acknowledged", "user-operator", None),
        ("P3", "resolved", None, None),
        ("P5", "acknowledged", "user-operator", "asked upstream")]
    # each change is in the problem's history, and the occurrences follow their problem
    assert db.execute("select count(*) from import_problem_events where action = "
                      "'acknowledged' and note = 'asked upstream'").fetchone() == {"count": 2}
    assert db.execute("select count(*) from import_anomalies a join import_problems p "
                      "on p.id = a.problem_id where a.status <> p.status"
                      ).fetchone() == {"count": 0}
    # the other group is untouched
    assert by_value(groups(http))["jsmith2"]["statuses"]["open"] == 2


def test_group_resolve_resolves_every_unresolved_problem(http, db, causes) -> None:
    answer = step(http, "resolve", "jsmith2", "UNKNOWN_DS", note="typo upstream").json()
    assert (answer["changed"], answer["skipped"]) == (2, 0)
    assert db.execute("select array_agg(distinct status) s, array_agg(distinct resolution) r "
                      "from import_problems where unknown_value = 'jsmith2'").fetchone() == {
        "s": ["resolved"], "r": ["manual"]}
    assert "jsmith2" not in by_value(groups(http))
    assert by_value(groups(http, status="resolved"))["jsmith2"]["statuses"]["resolved"] == 2
    again = step(http, "resolve", "jsmith2", "UNKNOWN_DS").json()
    assert (again["changed"], again["skipped"]) == (0, 2)
    assert {row["reason"] for row in again["problems"]} == {"already resolved"}


def test_group_steps_refuse_what_is_not_a_group(http, causes) -> None:
    missing = step(http, "resolve", "Nobody", "UNKNOWN_DS")
    assert missing.status_code == 404 and "Nobody" in missing.text
    bad = http.post("/anomalies/problems/groups/resolve",
                    json={"tenant_id": "TELCO", "anomaly_type": "UNKNOWN_XX",
                          "unknown_value": "x"}, headers=auth())
    assert bad.status_code in (400, 422) and "anomaly_type" in bad.text
    extra = http.post("/anomalies/problems/groups/acknowledge",
                      json={"tenant_id": "TELCO", "anomaly_type": "UNKNOWN_DS",
                            "unknown_value": "jsmith2", "status": "x"}, headers=auth())
    assert extra.status_code in (400, 422) and "status" in extra.text


def test_set_status_each_locks_up_front_and_reports_every_id(database_url, causes) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, false)",
                     [OPERATOR])
        conn.execute("set role authenticated")
        ids = [r[0] for r in conn.execute("select id from fn_problems_for_operator() "
                                          "order by id desc").fetchall()]
        rows = conn.execute("select id, outcome, reason from fn_problems_set_status_each("
                            "%s, 'acknowledged')", [[*ids, ids[0], 999999]]).fetchall()
    assert [r[0] for r in rows] == [*ids, 999999]  # the order asked, duplicates once
    assert {r[1] for r in rows[:-1]} == {"acknowledged"}
    assert rows[-1][1:] == ("skipped", "no problem with this id")
