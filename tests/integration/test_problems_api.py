"""GET /anomalies filters and pages, GET /anomalies/problems and the problem lifecycle routes,
over real HTTP on real PostgreSQL (SPEC §9)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from projects_import.auth import mint_token
from projects_import.imports.contract import identifier_uuid
from tests.support import JWT_SECRET, batch, project_row

PROBLEM_FIELDS = {"id", "tenant_id", "project_key", "anomaly_type", "severity", "unknown_value",
                  "status", "first_seen_at", "last_seen_at", "occurrences", "last_batch_id",
                  "payload_excerpt", "acknowledged_at", "acknowledged_by", "resolved_at",
                  "resolved_by", "resolution", "regressed", "ack_due_at", "resolve_due_at"}
MONDAY = "2025-08-18T17:00:00+0930-batch-001"
TUESDAY = "2025-08-19T17:00:00+0930-batch-001"


def auth(role: str = "operator", sub: str | None = None) -> dict[str, str]:
    token = mint_token(JWT_SECRET, sub=sub or f"user-{role}", role=role)
    return {"Authorization": f"Bearer {token}"}


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["correlation_id"]
    message: str = body["error"]["message"]
    return message


@pytest.fixture
def two_batches(http: httpx.Client, tenant: tuple[str, str], directories: None
                ) -> dict[str, Any]:
    """Monday: P1 unknown DS, P2 unknown partner + RM, P3 clean. Tuesday: P1 again, P4 unknown
    RM. Problems: P1/DS, P2/partner, P2/RM, P4/RM; five occurrences."""
    _, secret = tenant
    bearer = {"Authorization": f"Bearer {secret}"}
    monday = [project_row("STG-000000000001", deployment_specialist="ghost.one"),
              project_row("STG-000000000002", delivery_partner="Nowhere Builders",
                          relationship_manager="Nobody Known"),
              project_row("STG-000000000003")]
    tuesday = [project_row("STG-000000000001", deployment_specialist="ghost.one"),
               project_row("STG-000000000004", relationship_manager="Somebody Else")]
    answers = []
    for rows, batch_id in ((monday, MONDAY), (tuesday, TUESDAY)):
        response = http.post("/import-projects", json=batch(rows, batch_id=batch_id),
                             headers=bearer)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return {"monday": answers[0]["batch_id"], "tuesday": answers[1]["batch_id"]}


def anomalies(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = http.get("/anomalies", params=params, headers=auth())
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["anomalies"]
    return rows


def problems(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = http.get("/anomalies/problems", params=params, headers=auth())
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["problems"]
    return rows


# ------------------------------------------------------------------------ GET /anomalies

def test_every_anomaly_filter_narrows(http, db, two_batches) -> None:
    everything = anomalies(http)
    assert len(everything) == 5
    assert {r["anomaly_type"] for r in anomalies(http, anomaly_type="UNKNOWN_DS")} == {
        "UNKNOWN_DS"}
    assert len(anomalies(http, anomaly_type="UNKNOWN_DS")) == 2
    assert len(anomalies(http, anomaly_type="unknown_rm,UNKNOWN_DS")) == 4
    assert {r["project_key"] for r in anomalies(http, project_key="STG-000000000002")} == {
        "STG-000000000002"}
    assert len(anomalies(http, project_key="STG-000000000002")) == 2
    monday = two_batches["monday"]
    by_uuid = anomalies(http, batch_id=monday)
    assert {r["batch_id"] for r in by_uuid} == {monday} and len(by_uuid) == 3
    # the upstream string: by the batch-id rule with a tenant, by staging without one
    assert str(identifier_uuid("TELCO", MONDAY)) == monday
    assert {r["id"] for r in anomalies(http, batch_id=MONDAY, tenant="TELCO")} == {
        r["id"] for r in by_uuid}
    assert {r["id"] for r in anomalies(http, batch_id=MONDAY)} == {r["id"] for r in by_uuid}
    assert anomalies(http, batch_id="never-sent") == []
    assert anomalies(http, batch_id=str(uuid.uuid4())) == []
    assert anomalies(http, tenant="OTHER") == []
    assert len(anomalies(http, severity="warning")) == 1
    # status follows the problem's: resolve one problem, its two occurrences follow
    target = anomalies(http, anomaly_type="UNKNOWN_DS")[0]
    assert http.post(f"/anomalies/problems/{target['problem_id']}/resolve",
                     headers=auth()).status_code == 200
    resolved = anomalies(http, status="resolved")
    assert {r["problem_id"] for r in resolved} == {target["problem_id"]} and len(resolved) == 2
    assert len(anomalies(http, status="open")) == 3
    assert len(anomalies(http, status="open,acknowledged", anomaly_type="UNKNOWN_RM",
                         batch_id=TUESDAY, tenant="TELCO")) == 1


@pytest.mark.parametrize(("path", "query", "named"), [
    ("/anomalies", "severty=error", "'severty'"),
    ("/anomalies", "tenant=TELCO&batch=x", "'batch'"),
    ("/anomalies", "anomaly_type=UNKNOWN_DS&anomaly_type=UNKNOWN_RM", "'anomaly_type'"),
    ("/anomalies", "limit=10&limit=20", "'limit'"),
    ("/anomalies/problems", "windowHours=24", "'windowHours'"),
    ("/anomalies/problems", "status=open&status=resolved", "'status'"),
    ("/anomalies/problems/1", "verbose=1", "'verbose'"),
])
def test_unknown_or_repeated_parameters_are_400_naming_them(http, tenant, path, query,
                                                            named) -> None:
    message = error_of(http.get(f"{path}?{query}", headers=auth()), 400)
    assert named in message


@pytest.mark.parametrize(("query", "named"), [
    ("anomaly_type=UNKNOWN_XX", "anomaly_type"), ("status=closed", "status"),
    ("severity=fatal", "severity"), ("project_key=" + "x" * 300, "project_key"),
    ("cursor=abc", "cursor"), ("limit=0", "limit"),
])
def test_bad_filter_values_are_400_naming_them(http, tenant, query, named) -> None:
    for path in ("/anomalies", "/anomalies/problems"):
        assert named in error_of(http.get(f"{path}?{query}", headers=auth()), 400)


def test_pagination_walks_2500_anomalies_without_gaps_or_repeats(http, db, tenant) -> None:
    # set-based: 2,500 occurrences, many sharing a created_at so the id breaks ties
    db.execute("""
        insert into import_anomalies (tenant_id, batch_id, row_index, project_key, anomaly_type,
                                      severity, payload_excerpt, correlation_id, created_at)
        select 'TELCO', gen_random_uuid(), g, 'STG-' || lpad(g::text, 12, '0'), 'UNKNOWN_DS',
               'error', '{}', gen_random_uuid(),
               date_trunc('second', now()) - ((g / 7) || ' seconds')::interval
          from generate_series(1, 2500) g""")
    expected = [r["id"] for r in db.execute(
        "select id from import_anomalies order by created_at desc, id desc").fetchall()]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 1000, "tenant": "TELCO"}
        if cursor:
            params["cursor"] = cursor
        body = http.get("/anomalies", params=params, headers=auth()).json()
        seen += [r["id"] for r in body["anomalies"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == expected, "every anomaly once, newest first"
    # a smaller page size walks the same sequence
    small: list[int] = []
    cursor = None
    while True:
        params = {"limit": 333, **({"cursor": cursor} if cursor else {})}
        body = http.get("/anomalies", params=params, headers=auth()).json()
        small += [r["id"] for r in body["anomalies"]]
        if (cursor := body["next_cursor"]) is None:
            break
    assert small == expected


def test_a_tampered_or_foreign_cursor_is_400(http, db, two_batches) -> None:
    first = http.get("/anomalies", params={"limit": 2}, headers=auth()).json()
    cursor = first["next_cursor"]
    assert cursor
    assert len(anomalies(http, limit=2, cursor=cursor)) == 2
    body, _, tag = cursor.partition(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + tag
    for bad in (flipped, cursor + "x", cursor.replace(".", ""), "e30." + tag, "%%%"):
        assert "cursor" in error_of(http.get("/anomalies", params={"cursor": bad},
                                             headers=auth()), 400)
    problems_cursor = http.get("/anomalies/problems", params={"limit": 1},
                               headers=auth()).json()["next_cursor"]
    assert problems_cursor
    assert "cursor" in error_of(http.get("/anomalies", params={"cursor": problems_cursor},
                                         headers=auth()), 400)


def test_existing_answers_keep_their_shape(http, two_batches) -> None:
    body = http.get("/anomalies", headers=auth()).json()
    assert set(body) == {"anomalies", "next_cursor"} and body["next_cursor"] is None
    row = body["anomalies"][0]
    assert {"id", "tenant_id", "batch_id", "row_index", "project_key", "anomaly_type",
            "severity", "payload_excerpt", "correlation_id", "created_at", "status"} <= set(row)
    stats = http.get("/anomalies", params={"stats": "true", "windowHours": 48},
                     headers=auth()).json()
    assert set(stats) == {"stats"}
    assert {"tenant_id", "anomaly_type", "severity", "count", "unresolved",
            "last_seen_at"} <= set(stats["stats"][0])


def test_stats_count_open_problems_and_new_occurrences_never_resolved_ones(
        http, two_batches) -> None:
    def stats() -> dict[str, dict[str, Any]]:
        rows = http.get("/anomalies", params={"stats": "true"}, headers=auth()).json()["stats"]
        return {r["anomaly_type"]: r for r in rows}

    ds = stats()["UNKNOWN_DS"]
    assert (ds["open_problems"], ds["occurrences"], ds["new_problems"]) == (1, 2, 1)
    rm = stats()["UNKNOWN_RM"]
    assert (rm["open_problems"], rm["occurrences"]) == (2, 2)
    problem_id = problems(http, anomaly_type="UNKNOWN_DS")[0]["id"]
    http.post(f"/anomalies/problems/{problem_id}/acknowledge", headers=auth())
    ds = stats()["UNKNOWN_DS"]
    assert (ds["open_problems"], ds["acknowledged_problems"]) == (0, 1)
    http.post(f"/anomalies/problems/{problem_id}/resolve", headers=auth())
    ds = stats()["UNKNOWN_DS"]
    assert (ds["open_problems"], ds["acknowledged_problems"], ds["new_problems"]) == (0, 0, 0)
    assert ds["overdue_ack"] == 0 and ds["overdue_resolve"] == 0


# ---------------------------------------------------------------- GET /anomalies/problems

def test_problems_list_open_by_default_with_exactly_the_contract_fields(http, two_batches
                                                                         ) -> None:
    body = http.get("/anomalies/problems", headers=auth()).json()
    assert set(body) == {"problems", "next_cursor"} and body["next_cursor"] is None
    listed = body["problems"]
    assert len(listed) == 4
    assert all(set(p) == PROBLEM_FIELDS for p in listed)
    repeated = next(p for p in listed if p["project_key"] == "STG-000000000001")
    assert repeated["occurrences"] == 2 and repeated["unknown_value"] == "ghost.one"
    assert repeated["last_batch_id"] == two_batches["tuesday"]
    assert repeated["status"] == "open" and repeated["regressed"] is False
    assert repeated["ack_due_at"] and repeated["resolve_due_at"]
    # filters narrow
    assert {p["anomaly_type"] for p in problems(http, anomaly_type="UNKNOWN_RM")} == {
        "UNKNOWN_RM"}
    assert len(problems(http, anomaly_type="UNKNOWN_RM")) == 2
    assert len(problems(http, project_key="STG-000000000002")) == 2
    assert len(problems(http, severity="warning")) == 1
    assert {p["project_key"] for p in problems(http, batch_id=TUESDAY, tenant="TELCO")} == {
        "STG-000000000001", "STG-000000000004"}
    assert problems(http, tenant="OTHER") == []
    assert problems(http, status="resolved") == []
    assert len(problems(http, overdue="false")) == 4
    assert problems(http, overdue="true") == []


def test_problem_pages(http, two_batches) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = http.get("/anomalies/problems", params=params, headers=auth()).json()
        seen += [p["id"] for p in body["problems"]]
        if (cursor := body["next_cursor"]) is None:
            break
    assert len(seen) == 4 and len(set(seen)) == 4
    assert seen == [p["id"] for p in problems(http)]


def test_one_problem_with_its_occurrences(http, two_batches) -> None:
    target = problems(http, project_key="STG-000000000001")[0]
    response = http.get(f"/anomalies/problems/{target['id']}", headers=auth())
    assert response.status_code == 200, response.text
    found = response.json()
    assert set(found) == PROBLEM_FIELDS | {"occurrences_list", "events"}
    assert [o["batch_id"] for o in found["occurrences_list"]] == [two_batches["tuesday"],
                                                                  two_batches["monday"]]
    assert all(o["problem_id"] == target["id"] for o in found["occurrences_list"])
    assert [e["action"] for e in found["events"]] == ["opened"]
    assert "not_found" in http.get("/anomalies/problems/987654321",
                                   headers=auth()).json()["error"]["code"]
    error_of(http.get("/anomalies/problems/987654321", headers=auth()), 404)
    error_of(http.get("/anomalies/problems/abc", headers=auth()), 400)


def test_acknowledge_then_resolve_record_the_sub_and_note(http, two_batches) -> None:
    target = problems(http, project_key="STG-000000000004")[0]["id"]
    acked = http.post(f"/anomalies/problems/{target}/acknowledge",
                      json={"note": "asking the RM team"}, headers=auth(sub="op-7"))
    assert acked.status_code == 200, acked.text
    assert set(acked.json()) == PROBLEM_FIELDS
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "op-7"
    resolved = http.post(f"/anomalies/problems/{target}/resolve", headers=auth("admin", "ad-1"))
    assert resolved.status_code == 200, resolved.text
    done = resolved.json()
    assert (done["status"], done["resolution"], done["resolved_by"]) == (
        "resolved", "manual", "ad-1")
    assert done["acknowledged_by"] == "op-7"
    events = http.get(f"/anomalies/problems/{target}", headers=auth()).json()["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("opened", "system"), ("acknowledged", "op-7"), ("resolved", "ad-1")]
    assert events[1]["note"] == "asking the RM team"
    # resolved is final for acknowledge; resolving again changes nothing
    assert "resolved" in error_of(http.post(f"/anomalies/problems/{target}/acknowledge",
                                            headers=auth()), 409)
    again = http.post(f"/anomalies/problems/{target}/resolve", headers=auth(sub="someone"))
    assert again.status_code == 200 and again.json()["resolved_by"] == "ad-1"
    assert problems(http, status="resolved")[0]["id"] == target
    # its occurrences say so too
    assert {a["status"] for a in anomalies(http, project_key="STG-000000000004")} == {
        "resolved"}


def test_lifecycle_refusals(http, two_batches) -> None:
    target = problems(http)[0]["id"]
    error_of(http.post("/anomalies/problems/987654321/resolve", headers=auth()), 404)
    error_of(http.post(f"/anomalies/problems/{target}/resolve",
                       json={"note": "x", "extra": 1}, headers=auth()), 400)
    error_of(http.post(f"/anomalies/problems/{target}/resolve", json={"note": "x" * 2001},
                       headers=auth()), 400)
    error_of(http.post(f"/anomalies/problems/{target}/resolve", json=["note"],
                       headers=auth()), 400)
    error_of(http.post(f"/anomalies/problems/{target}/resolve"), 401)
    error_of(http.post(f"/anomalies/problems/{target}/resolve", headers=auth("viewer")), 403)
    assert problems(http)[0]["status"] == "open", "nothing was written"


def test_the_per_anomaly_routes_act_on_the_problem(http, two_batches) -> None:
    occurrence = anomalies(http, project_key="STG-000000000001")[0]
    response = http.post(f"/anomalies/{occurrence['id']}/resolve", headers=auth(sub="op-9"))
    assert response.status_code == 200, response.text
    found = http.get(f"/anomalies/problems/{occurrence['problem_id']}", headers=auth()).json()
    assert (found["status"], found["resolved_by"]) == ("resolved", "op-9")
    assert {o["status"] for o in found["occurrences_list"]} == {"resolved"}


# ------------------------------------------------------------------------------ who may

def _anon_token() -> str:
    now = int(time.time())
    return jwt.encode({"sub": "anon-key", "role": "anon", "iat": now, "exp": now + 600,
                       "aud": "authenticated", "app_metadata": {"role": "operator"}},
                      JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/anomalies"), ("GET", "/anomalies/problems"), ("GET", "/anomalies/problems/1"),
    ("POST", "/anomalies/problems/1/resolve"), ("POST", "/anomalies/1/acknowledge"),
    ("POST", "/anomalies/alerts"),
])
def test_an_anon_role_token_is_refused(http, tenant, method, path) -> None:
    """Supabase's anon key is a valid JWT, but nobody signed in: even with an operator
    app_metadata.role it is not let in."""
    response = http.request(method, path, headers={"Authorization": f"Bearer {_anon_token()}"})
    assert "authenticated" in error_of(response, 403)


def test_a_note_postgresql_cannot_hold_is_kept_readable_not_a_500(http, two_batches) -> None:
    target = problems(http)[0]["id"]
    response = http.post(f"/anomalies/problems/{target}/resolve",
                         content=b'{"note": "a\\u0000b"}',
                         headers={**auth(), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    events = http.get(f"/anomalies/problems/{target}", headers=auth()).json()["events"]
    assert events[-1]["note"] == "a\ufffdb"
