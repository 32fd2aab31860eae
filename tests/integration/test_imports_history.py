"""GET /imports and GET /imports/{id} over real HTTP (SPEC §9 "Imports history"): what each
import request did, recorded by the import route itself, read under the operator's claims."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import batch, bearer, create_tenant, project_row, user_token
from tests.support.pages import rerun_batch

IMPORT_FIELDS = {"id", "tenant_id", "received_at", "request_batch_id", "batch_id", "source",
                 "status", "error_code", "rows", "inserted_projects", "updated_projects",
                 "unchanged_projects", "anomalies_count", "parse_ms", "merge_ms",
                 "correlation_id", "replayed", "batch_state"}


def operator(role: str = "operator") -> dict[str, str]:
    return bearer(user_token(role))


def tenant_auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def requests_made(http: httpx.Client, tenant: tuple[str, str],
                  directories: None) -> dict[str, Any]:
    """A merged batch, its replay, a rejected one and a busy-free second batch."""
    _, secret = tenant
    rows = [project_row("STG-000000000001"),
            project_row("STG-000000000002", deployment_specialist="ghost")]
    merged = http.post("/import-projects", json=batch(rows, batch_id="upstream-001"),
                       headers=tenant_auth(secret))
    assert merged.status_code == 200, merged.text
    replay = http.post("/import-projects", json=batch(rows, batch_id="upstream-001"),
                       headers=tenant_auth(secret))
    assert replay.status_code == 200 and replay.json()["replayed"]
    bad_rows = [project_row(""), project_row("STG-3", residential="-48173"),
                project_row("STG-4", residential="lots-of-homes"), project_row("")]
    rejected = http.post("/import-projects",
                         json=batch(bad_rows, batch_id="upstream-002", source="crm-export"),
                         headers=tenant_auth(secret))
    assert rejected.status_code == 422, rejected.text
    second = http.post("/import-projects",
                       json=batch([project_row("STG-000000000001", commercial="9")],
                                  batch_id="upstream-003"),
                       headers=tenant_auth(secret))
    assert second.status_code == 200, second.text
    return {"merged": merged.json(), "rejected": rejected.json(), "second": second.json()}


def test_lists_every_request_newest_first_with_the_documented_fields(
        http: httpx.Client, requests_made: dict[str, Any]) -> None:
    response = http.get("/imports", headers=operator())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    imports = body["imports"]
    assert [r["request_batch_id"] for r in imports] == [
        "upstream-003", "upstream-002", "upstream-001", "upstream-001"]
    assert all(set(r) == IMPORT_FIELDS for r in imports)

    second, rejected, replay, merged = imports
    assert merged["status"] == 200 and not merged["replayed"]
    assert merged["batch_id"] == requests_made["merged"]["batch_id"]
    assert merged["source"] == "projects-import"
    assert (merged["rows"], merged["inserted_projects"], merged["updated_projects"],
            merged["unchanged_projects"], merged["anomalies_count"]) == (2, 2, 0, 0, 1)
    assert merged["correlation_id"] == requests_made["merged"]["correlation_id"]
    assert merged["merge_ms"] > 0 and merged["parse_ms"] >= 0
    assert replay["replayed"] and replay["batch_id"] == merged["batch_id"]
    assert rejected["status"] == 422 and rejected["error_code"] == "contract_violation"
    assert rejected["source"] == "crm-export" and rejected["rows"] == 4
    assert rejected["batch_id"] is None and rejected["inserted_projects"] is None
    assert (second["updated_projects"], second["inserted_projects"]) == (1, 0)


def test_filters_by_tenant_status_and_since(http: httpx.Client, requests_made: dict[str, Any],
                                            database_url: str, db: psycopg.Connection[Any]
                                            ) -> None:
    other = create_tenant(database_url, "OTHER")
    response = http.post("/import-projects", json=batch([project_row("STG-9")],
                                                         tenant_id="OTHER"),
                         headers=tenant_auth(other))
    assert response.status_code == 200
    db.execute("update import_requests set created_at = now() - interval '3 days' "
               "where request_batch_id = 'upstream-001'")

    def ids(**params: Any) -> list[str]:
        answer = http.get("/imports", params=params, headers=operator("admin"))
        assert answer.status_code == 200, answer.text
        return [f"{r['tenant_id']}:{r['request_batch_id']}" for r in answer.json()["imports"]]

    assert len(ids()) == 5
    assert ids(tenant="OTHER") == ["OTHER:2025-08-18T17:00:00+0930-batch-001"]
    assert ids(tenant="TELCO", status=422) == ["TELCO:upstream-002"]
    assert ids(status=200, tenant="TELCO") == ["TELCO:upstream-003", "TELCO:upstream-001",
                                               "TELCO:upstream-001"]
    recent = ids(tenant="TELCO", since="2020-01-01T00:00:00Z")
    assert len(recent) == 4
    day_ago = db.execute("select to_char((now() - interval '1 day') at time zone 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS') as t").fetchone()
    assert day_ago is not None
    assert ids(tenant="TELCO", since=day_ago["t"]) == ["TELCO:upstream-003",
                                                       "TELCO:upstream-002"]
    assert ids(tenant="TELCO", since=day_ago["t"] + "+09:30") == [
        "TELCO:upstream-003", "TELCO:upstream-002"]


def test_cursor_walks_every_request_once(http: httpx.Client, tenant: tuple[str, str],
                                         db: psycopg.Connection[Any]) -> None:
    db.execute("""
        insert into import_requests (tenant_id, correlation_id, status, rows, created_at)
        select 'TELCO', gen_random_uuid(), 200, n, now() - make_interval(mins => n / 3)
          from generate_series(1, 250) as n
    """)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 40}
        if cursor:
            params["cursor"] = cursor
        response = http.get("/imports", params=params, headers=operator())
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [r["id"] for r in body["imports"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 7
    assert len(seen) == 250 == len(set(seen))
    expected = db.execute("select id from import_requests order by created_at desc, id desc"
                          ).fetchall()
    assert seen == [r["id"] for r in expected]


@pytest.mark.parametrize(("params", "named"), [
    ({"status": "ok"}, "status"),
    ({"status": "99"}, "status"),
    ({"since": "yesterday"}, "since"),
    ({"since": "7403758085"}, "since"),
    ({"tenant": "bad tenant!"}, "tenant"),
    ({"limit": "0"}, "limit"),
    ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
    ({"cursor": "%%%"}, "cursor"),
    ({"tenants": "TELCO"}, "tenants"),
    ({"status": ["200", "422"]}, "status"),
])
def test_bad_parameters_are_400s_that_name_them(http: httpx.Client, tenant: tuple[str, str],
                                                params: dict[str, Any], named: str) -> None:
    response = http.get("/imports", params=params, headers=operator())
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_parameters"
    assert named in error["message"]


def test_only_operators_and_admins_read_the_history(
        http: httpx.Client, requests_made: dict[str, Any]) -> None:
    assert http.get("/imports").status_code == 401
    assert http.get("/imports", params={"tenants": "TELCO"}).status_code == 401
    assert http.get("/imports", params={"tenants": "TELCO"},
                    headers=operator("viewer")).status_code == 403
    assert http.get("/imports", headers={"Authorization": "Bearer nope"}).status_code == 401
    viewer = http.get("/imports", headers=operator("viewer"))
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden"
    first = http.get("/imports", headers=operator()).json()["imports"][0]["id"]
    assert http.get(f"/imports/{first}", headers=operator("viewer")).status_code == 403


def test_the_database_refuses_a_viewer_too(database_url: str, requests_made: dict[str, Any]
                                           ) -> None:
    claims = '{"sub": "v", "role": "authenticated", "app_metadata": {"role": "viewer"}}'
    with psycopg.connect(database_url) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
        conn.execute("set local role authenticated")
        for statement in ("select * from fn_imports_for_operator()",
                          "select * from fn_import_get(1)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
            conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
            conn.execute("set local role authenticated")
        assert conn.execute("select count(*) from import_requests").fetchone() == (0,)


def test_detail_adds_staged_metrics_reruns_and_violations(
        http: httpx.Client, requests_made: dict[str, Any], database_url: str) -> None:
    imports = http.get("/imports", headers=operator()).json()["imports"]
    second, rejected, _, merged = imports

    detail = http.get(f"/imports/{merged['id']}", headers=operator())
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert set(body) >= IMPORT_FIELDS
    assert body["staged_metrics"]["inserted_projects"] == 2
    assert body["staged_metrics"]["anomalies_count"] == 1
    assert body["staging_id"] == requests_made["merged"]["metrics"]["staging_id"]
    assert body["reruns"] == [] and body["violations_summary"] is None
    assert body["org_memberships_upserted"] == 2

    rerun_batch(database_url, "TELCO", uuid.UUID(merged["batch_id"]))
    reruns = http.get(f"/imports/{merged['id']}", headers=operator()).json()["reruns"]
    assert len(reruns) == 1 and reruns[0]["unchanged_projects"] == 1
    assert {"at", "correlation_id"} <= set(reruns[0])

    bad = http.get(f"/imports/{rejected['id']}", headers=operator()).json()
    assert bad["status"] == 422 and bad["staged_metrics"] is None
    assert bad["violations_total"] == 4
    summary = bad["violations_summary"]
    assert summary["by_code"] == {"required": 2, "negative": 1, "not_integer": 1}
    assert summary["first"][0] == {"row_index": 0, "field": "stage_application",
                                   "code": "required"}
    assert all(set(v) == {"row_index", "field", "code"} for v in summary["first"])
    assert "48173" not in str(bad) and "lots-of-homes" not in str(bad)  # never values

    assert http.get(f"/imports/{second['id'] + 1000}", headers=operator()).status_code == 404
    assert http.get("/imports/0", headers=operator()).status_code == 400
