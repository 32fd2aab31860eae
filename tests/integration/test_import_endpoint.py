"""POST /import-projects end to end: every status code, metrics, replays, nothing partial."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import batch, create_tenant, project_row


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def post(http: httpx.Client, secret: str, payload: Any, **kwargs: Any) -> httpx.Response:
    return http.post("/import-projects", json=payload, headers=auth(secret), **kwargs)


def counts(db: psycopg.Connection[Any]) -> dict[str, int]:
    tables = ("projects", "staging_imports", "import_anomalies", "project_org_memberships",
              "project_user_memberships", "organizations")
    return {t: db.execute(f"select count(*) as n from public.{t}").fetchone()["n"]
            for t in tables}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    uuid.UUID(body["error"]["correlation_id"])
    assert "Traceback" not in response.text
    return body


# ---------------------------------------------------------------- 200: first import, re-import

def test_first_import_stages_merges_and_reports(http, db, tenant, directories) -> None:
    _, secret = tenant
    rows = [project_row(f"STG-{i:012d}") for i in range(3)]
    rows[2]["upstream_extra"] = "kept in raw"
    correlation_id = str(uuid.uuid4())
    response = post(http, secret, batch(rows, correlation_id=correlation_id))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["correlation_id"] == correlation_id
    assert body["replayed"] is False
    assert body["metrics"] == {
        "inserted_projects": 3, "updated_projects": 0, "unchanged_projects": 0,
        "org_memberships_upserted": 3, "user_memberships_upserted": 6, "anomalies_count": 0,
        "staging_id": body["metrics"]["staging_id"], "rows": 3, "memberships_ended": 0,
        "anomalies_resolved": 0,
    }
    staged = db.execute("select * from staging_imports").fetchone()
    assert str(staged["id"]) == body["metrics"]["staging_id"]
    assert str(staged["batch_id"]) == body["batch_id"]
    assert str(staged["correlation_id"]) == correlation_id
    assert staged["row_count"] == 3 and staged["source"] == "projects-import"
    assert staged["raw"]["rows"][2]["upstream_extra"] == "kept in raw"
    assert staged["validation"]["request_batch_id"] == "2025-08-18T17:00:00+0930-batch-001"
    assert staged["validation"]["metrics"]["inserted_projects"] == 3
    project = db.execute("select * from projects where stage_application = 'STG-000000000000'"
                         ).fetchone()
    assert (project["residential"], project["commercial"], project["essential"]) == (45, 5, 0)
    assert project["partner_org"] == "Fulton Hogan Pty Ltd"
    assert str(project["stage_application_created"]) == "2025-04-01"


def test_reimport_counts_inserted_updated_unchanged(http, db, tenant, directories) -> None:
    _, secret = tenant
    first = [project_row(f"STG-{i}") for i in range(5)]
    assert post(http, secret, batch(first, batch_id="day-1")).status_code == 200
    second = [project_row("STG-0"), project_row("STG-1"),                   # unchanged
              project_row("STG-2", residential="46"),                      # updated
              project_row("STG-3", developer_class="Class 3"),
              project_row("STG-4", stage_application_created="2025-05-01"),
              project_row("STG-5"), project_row("STG-6")]                  # inserted
    response = post(http, secret, batch(second, batch_id="day-2"))
    assert response.status_code == 200, response.text
    metrics = response.json()["metrics"]
    assert (metrics["inserted_projects"], metrics["updated_projects"],
            metrics["unchanged_projects"]) == (2, 3, 2)
    assert (metrics["inserted_projects"] + metrics["updated_projects"]
            + metrics["unchanged_projects"]) == len(second)
    assert metrics["org_memberships_upserted"] == 2
    assert metrics["user_memberships_upserted"] == 4
    assert counts(db)["projects"] == 7


# ---------------------------------------------------------------- replays and batch identity

def test_replay_answers_memoized_metrics_and_writes_nothing(http, db, tenant, directories) -> None:
    _, secret = tenant
    rows = [project_row("STG-1"), project_row("STG-2", deployment_specialist="ghost")]
    first = post(http, secret, batch(rows)).json()
    before = counts(db)
    replay = post(http, secret, batch(list(reversed(rows))))
    assert replay.status_code == 200, replay.text
    body = replay.json()
    assert body["replayed"] is True
    assert body["batch_id"] == first["batch_id"]
    assert body["metrics"]["staging_id"] == first["metrics"]["staging_id"]
    for name in ("inserted_projects", "updated_projects", "unchanged_projects",
                 "org_memberships_upserted", "user_memberships_upserted", "anomalies_count"):
        assert body["metrics"][name] == first["metrics"][name]
    assert counts(db) == before


def test_same_rows_under_another_batch_id_are_new_data_and_merged(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    rows = [project_row("STG-1")]
    first = post(http, secret, batch(rows, batch_id="morning")).json()
    again = post(http, secret, batch(rows, batch_id="evening"))
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["replayed"] is False
    assert body["batch_id"] != first["batch_id"]
    assert body["metrics"]["unchanged_projects"] == 1
    assert body["metrics"]["staging_id"] != first["metrics"]["staging_id"]
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 2


def test_batch_id_reused_with_other_rows_is_422(http, db, tenant, directories) -> None:
    _, secret = tenant
    assert post(http, secret, batch([project_row("STG-1")], batch_id="b-1")).status_code == 200
    before = counts(db)
    body = assert_error(post(http, secret, batch([project_row("STG-2")], batch_id="b-1")),
                        422, "contract_violation")
    assert body["violations"][0]["field"] == "batch_id"
    assert body["violations"][0]["code"] == "batch_conflict"
    assert counts(db) == before


# ---------------------------------------------------------------- 400

@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        (b"{not json", "application/json", "invalid_json"),
        (b"[1, 2]", "application/json", "invalid_body"),
        (b'{"tenant_id": "TELCO", "rows": {"a": 1}}', "application/json", "invalid_body"),
        (b'{"tenant_id": "TELCO"}', "application/json", "invalid_body"),
        (b"tenant_id=TELCO", "application/x-www-form-urlencoded", "unsupported_content_type"),
        (b"\xff\xfe", "application/json", "invalid_json"),
    ],
)
def test_malformed_bodies_are_400(http, db, tenant, content: bytes, content_type: str,
                                  code: str) -> None:
    _, secret = tenant
    response = http.post("/import-projects", content=content,
                         headers={**auth(secret), "Content-Type": content_type})
    assert_error(response, 400, code)
    assert counts(db)["staging_imports"] == 0


# ---------------------------------------------------------------- 401

def test_missing_or_invalid_bearer_is_401(http, db, tenant) -> None:
    payload = batch([project_row("STG-1")])
    assert_error(http.post("/import-projects", json=payload), 401, "unauthorized")
    assert_error(post(http, "pit_0123456789abcdef.wrongwrongwrongwrongwrong", payload),
                 401, "unauthorized")
    assert_error(post(http, "not-even-shaped-right", payload), 401, "unauthorized")
    assert_error(http.post("/import-projects", json=payload,
                           headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    assert counts(db)["staging_imports"] == 0


def test_bearer_of_another_tenant_is_401(http, db, database_url, tenant) -> None:
    other_secret = create_tenant(database_url, "OTHER")
    assert_error(post(http, other_secret, batch([project_row("STG-1")])), 401, "unauthorized")
    assert counts(db)["staging_imports"] == 0


def test_rotated_secret_keeps_old_one_for_the_grace_period(http, db, database_url, tenant) -> None:
    import asyncio

    from projects_import.db.connection import Database
    from projects_import.tenants import TenantStore

    _, old = tenant

    async def rotate(grace: int) -> str:
        async with Database(database_url, max_size=1) as database:
            return await TenantStore(database).rotate("TELCO", grace)

    new = asyncio.run(rotate(3600))
    assert post(http, old, batch([project_row("A")], batch_id="1")).status_code == 200
    assert post(http, new, batch([project_row("B")], batch_id="2")).status_code == 200
    newest = asyncio.run(rotate(0))
    assert_error(post(http, old, batch([project_row("C")], batch_id="3")), 401, "unauthorized")
    assert_error(post(http, new, batch([project_row("C")], batch_id="3")), 401, "unauthorized")
    assert post(http, newest, batch([project_row("C")], batch_id="3")).status_code == 200


def test_secrets_are_stored_hashed(db, tenant) -> None:
    _, secret = tenant
    stored = db.execute("select secret_hash from tenant_secrets").fetchone()["secret_hash"]
    assert secret not in stored
    assert stored == "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


# ---------------------------------------------------------------- 413

@pytest.fixture
def small_limit_server(settings, make_server):
    return make_server(settings.model_copy(update={"max_body_bytes": 2000}))


def test_body_over_limit_by_content_length_is_413(small_limit_server, db, tenant) -> None:
    _, secret = tenant
    rows = [project_row(f"STG-{i}") for i in range(40)]
    response = httpx.post(f"{small_limit_server.url}/import-projects", json=batch(rows),
                          headers=auth(secret))
    assert_error(response, 413, "payload_too_large")
    assert counts(db)["staging_imports"] == 0


def test_streamed_body_over_limit_is_413(small_limit_server, db, tenant) -> None:
    _, secret = tenant
    data = json.dumps(batch([project_row(f"STG-{i}") for i in range(40)])).encode()
    sent: list[int] = []

    def chunks():
        for start in range(0, len(data), 500):
            sent.append(start)
            yield data[start:start + 500]

    response = httpx.post(f"{small_limit_server.url}/import-projects", content=chunks(),
                          headers={**auth(secret), "Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")
    assert counts(db)["staging_imports"] == 0


def test_server_stops_reading_an_oversized_stream(small_limit_server, tenant) -> None:
    """After the 413 the server closes the connection instead of draining the upload."""
    import socket

    _, secret = tenant
    with socket.create_connection(("127.0.0.1", small_limit_server.port), timeout=10) as sock:
        sock.sendall((f"POST /import-projects HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n").encode())
        chunk = b"x" * 1000
        answer = b""
        closed = False
        try:
            for _ in range(2000):  # up to 2 MB, far past the 2000-byte limit
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    closed = True
                    break
                answer += data
        except ConnectionResetError:
            closed = True
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"connection: close" in answer.lower()
    assert closed


def test_gzip_limit_applies_to_the_decoded_body(small_limit_server, db, tenant,
                                                directories) -> None:
    _, secret = tenant
    big = gzip.compress(json.dumps(batch([project_row(f"STG-{i}") for i in range(40)])).encode())
    assert len(big) < 2000
    response = httpx.post(f"{small_limit_server.url}/import-projects", content=big,
                          headers={**auth(secret), "Content-Type": "application/json",
                                   "Content-Encoding": "gzip"})
    assert_error(response, 413, "payload_too_large")
    small = gzip.compress(json.dumps(batch([project_row("STG-1")])).encode())
    response = httpx.post(f"{small_limit_server.url}/import-projects", content=small,
                          headers={**auth(secret), "Content-Type": "application/json",
                                   "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert counts(db)["staging_imports"] == 1


def test_corrupt_gzip_is_400(http, tenant) -> None:
    _, secret = tenant
    headers = {**auth(secret), "Content-Type": "application/json", "Content-Encoding": "gzip"}
    response = http.post("/import-projects", content=b"\x1f\x8bnot gzip at all",
                         headers=headers)
    assert_error(response, 400, "invalid_gzip")
    whole = gzip.compress(json.dumps(batch([project_row("STG-1")])).encode())
    assert_error(http.post("/import-projects", content=whole + b"junk", headers=headers),
                 400, "invalid_gzip")
    assert_error(http.post("/import-projects", content=whole[:-5], headers=headers),
                 400, "invalid_gzip")


def test_multi_member_gzip_is_read_whole(http, db, tenant, directories) -> None:
    _, secret = tenant
    text = json.dumps(batch([project_row("STG-1"), project_row("STG-2")])).encode()
    body = gzip.compress(text[:100]) + gzip.compress(text[100:])
    response = http.post("/import-projects", content=body,
                         headers={**auth(secret), "Content-Type": "application/json",
                                  "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.json()["metrics"]["inserted_projects"] == 2


# ---------------------------------------------------------------- 422

def test_contract_violations_are_422_with_rows_and_nothing_written(http, db, tenant) -> None:
    _, secret = tenant
    rows = [project_row("STG-1"), project_row("STG-2", residential="-1"),
            project_row("STG-1")]
    body = assert_error(post(http, secret, batch(rows)), 422, "contract_violation")
    assert body["violations"] == [
        {"row_index": 1, "field": "residential", "code": "negative",
         "message": "residential must not be negative"},
        {"row_index": 2, "field": "stage_application", "code": "duplicate",
         "message": "stage_application repeats row 0 of this batch"},
    ]
    assert "row 1" in body["error"]["message"]
    assert counts(db)["staging_imports"] == 0 and counts(db)["projects"] == 0


def test_only_the_first_100_violations_are_listed(http, tenant) -> None:
    _, secret = tenant
    rows = [project_row(f"STG-{i}", residential="x") for i in range(150)]
    body = assert_error(post(http, secret, batch(rows)), 422, "contract_violation")
    assert len(body["violations"]) == 100
    assert body["violations_total"] == 150
    assert body["violations"][99]["row_index"] == 99


def test_row_count_limits_are_422(http, settings, make_server, tenant) -> None:
    _, secret = tenant
    assert_error(post(http, secret, batch([])), 422, "contract_violation")
    server = make_server(settings.model_copy(update={"max_rows": 3}))
    rows = [project_row(f"STG-{i}") for i in range(4)]
    response = httpx.post(f"{server.url}/import-projects", json=batch(rows), headers=auth(secret))
    body = assert_error(response, 422, "contract_violation")
    assert body["violations"][0]["code"] == "row_count"


def test_unstorable_characters_are_422_not_500(http, db, tenant) -> None:
    _, secret = tenant
    body = assert_error(post(http, secret, batch([project_row("STG\u0000-1")])),
                        422, "contract_violation")
    assert body["violations"][0]["code"] == "invalid_character"
    response = http.post("/import-projects",
                         content=b'{"tenant_id":"TELCO","rows":[{"stage_application":"S\\ud800"}]}',
                         headers={**auth(secret), "Content-Type": "application/json"})
    assert_error(response, 422, "contract_violation")
    assert counts(db)["staging_imports"] == 0


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"tenant_id":"TELCO","rows":[{"stage_application":"A","e":NaN}]}',
    b'{"tenant_id":"TELCO","rows":[{"stage_application":"A"}],"x":Infinity}',
    b'{"tenant_id":"TELCO","rows":[{"stage_application":"A","delivery_partner":1e400}]}',
    b'{"tenant_id":"TELCO","rows":[{"stage_application":"A","residential":' + b"9" * 5000
    + b"}]}",
])
def test_json_postgresql_cannot_hold_is_400_not_500(http, db, tenant, body: bytes) -> None:
    _, secret = tenant
    response = http.post("/import-projects", content=body,
                         headers={**auth(secret), "Content-Type": "application/json"})
    assert_error(response, 400, "invalid_json")
    assert counts(db)["staging_imports"] == 0


def test_deeply_nested_extra_values_are_422(http, db, tenant) -> None:
    _, secret = tenant
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    body = assert_error(post(http, secret, batch([project_row("STG-1", extra=deep)])),
                        422, "contract_violation")
    assert body["violations"][0]["code"] == "too_deep"
    assert body["violations"][0]["row_index"] == 0


@pytest.mark.parametrize(("csv_body", "status", "detail"), [
    ('stage_application,delivery_partner\n"C-8,P\n', 400, "invalid_csv"),
    ("stage_application,stage_application\nC-10,C-11\n", 400, "invalid_csv"),
    ("stage_application,delivery_partner\nC-1,P\nC-3,P,extra\n", 422, "too_many_cells"),
])
def test_broken_csv_is_refused_not_guessed(http, db, tenant, csv_body: str, status: int,
                                           detail: str) -> None:
    _, secret = tenant
    response = http.post("/import-projects", content=csv_body.encode(),
                         params={"tenant_id": "TELCO", "batch_id": "csv-x"},
                         headers={**auth(secret), "Content-Type": "text/csv"})
    body = assert_error(response, status, "invalid_csv" if status == 400 else
                        "contract_violation")
    if status == 422:
        assert body["violations"] == [{"row_index": 1, "field": "row", "code": detail,
                                       "message": "the row has 3 cells; the header has 2 "
                                                  "columns"}]
    assert counts(db)["projects"] == 0


def test_short_csv_rows_leave_the_missing_columns_blank(http, db, tenant, directories) -> None:
    _, secret = tenant
    response = http.post("/import-projects", content=b"stage_application,residential\nC-1\n",
                         params={"tenant_id": "TELCO", "batch_id": "csv-short"},
                         headers={**auth(secret), "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert db.execute("select residential from projects").fetchone()["residential"] == 0


def test_error_body_carries_the_callers_correlation_id(http, tenant) -> None:
    _, secret = tenant
    correlation_id = str(uuid.uuid4())
    body = assert_error(post(http, secret, batch([project_row("")], correlation_id=correlation_id)),
                        422, "contract_violation")
    assert body["error"]["correlation_id"] == correlation_id


# ---------------------------------------------------------------- 429

def test_concurrent_import_for_the_same_tenant_is_429(http, db, database_url, tenant,
                                                      directories) -> None:
    _, secret = tenant
    other_secret = create_tenant(database_url, "OTHER")
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("begin")
        holder.execute("select public.fn_projects_import_lock('TELCO')")
        response = post(http, secret, batch([project_row("STG-1")]))
        body = assert_error(response, 429, "import_in_progress")
        assert int(response.headers["Retry-After"]) >= 1
        assert body["error"]["message"]
        # another tenant is not held up
        other = post(http, other_secret, batch([project_row("STG-1")], tenant_id="OTHER"))
        assert other.status_code == 200, other.text
        holder.execute("rollback")
    assert counts(db)["projects"] == 1
    assert post(http, secret, batch([project_row("STG-1")])).status_code == 200


# ---------------------------------------------------------------- 500

def test_unexpected_server_error_is_500_and_writes_nothing(http, db, tenant, directories) -> None:
    _, secret = tenant
    # the merge the service reaches, after the batch is staged (0033: the columns form)
    db.execute("alter function public.fn_projects_import_merge_columns(text, text, uuid, uuid,"
               " text[], text[], text[], text[], text[], text[], integer[], integer[], integer[],"
               " integer[], text[], text[]) rename to fn_projects_import_merge_away")
    correlation_id = str(uuid.uuid4())
    response = post(http, secret, batch([project_row("STG-1")], correlation_id=correlation_id))
    body = assert_error(response, 500, "internal_error")
    assert body["error"]["correlation_id"] == correlation_id
    assert "fn_projects_import_merge" not in response.text
    assert counts(db)["staging_imports"] == 0 and counts(db)["projects"] == 0


# ---------------------------------------------------------------- CSV

def test_csv_body_with_query_parameters(http, db, tenant, directories) -> None:
    _, secret = tenant
    csv_body = ("stage_application,delivery_partner,developer_class,relationship_manager,"
                "deployment_specialist,residential,commercial,essential,"
                "stage_application_created\n"
                "STG-1,Fulton Hogan,Class 2,First Last,PREFERRED_USERNAME,45,5,,2025-04-01\n"
                'STG-2,"Downer",Class 1,First Last,ds.second,,,3,\n')
    response = http.post("/import-projects", content=csv_body.encode(),
                         params={"tenant_id": "TELCO", "batch_id": "csv-1"},
                         headers={**auth(secret), "Content-Type": "text/csv; charset=utf-8"})
    assert response.status_code == 200, response.text
    assert response.json()["metrics"]["inserted_projects"] == 2
    row = db.execute("select * from projects where stage_application = 'STG-2'").fetchone()
    assert (row["partner_org"], row["essential"], row["residential"]) == ("Downer Group", 3, 0)


def test_csv_without_tenant_id_is_422(http, tenant) -> None:
    _, secret = tenant
    response = http.post("/import-projects", content=b"stage_application\nSTG-1\n",
                         headers={**auth(secret), "Content-Type": "text/csv"})
    body = assert_error(response, 422, "contract_violation")
    assert body["violations"][0]["field"] == "tenant_id"


# ---------------------------------------------------------------- operations

def test_health_readiness_and_metrics(http, tenant, directories) -> None:
    _, secret = tenant
    assert http.get("/healthz").json() == {"status": "ok"}
    assert http.get("/readyz").json()["status"] == "ready"
    post(http, secret, batch([project_row("STG-1")]))
    text = http.get("/metrics").text
    assert 'projects_import_requests_total{status="200",tenant_id="TELCO"} 1.0' in text
    assert 'projects_import_inserted_projects_total{status="200",tenant_id="TELCO"} 1.0' in text
    assert "/import-projects" in http.get("/openapi.json").json()["paths"]


def test_every_authenticated_request_is_recorded(http, db, tenant, directories) -> None:
    _, secret = tenant
    post(http, secret, batch([project_row("STG-1")]))
    post(http, secret, batch([project_row("")]))
    rows = db.execute("select status, error_code, rows from import_requests order by id").fetchall()
    assert [(r["status"], r["error_code"], r["rows"]) for r in rows] == [
        (200, None, 1), (422, "contract_violation", 1)]  # rows sent, even when rejected


def test_logs_carry_figures_but_no_names_or_secrets(http, tenant, directories, capfd) -> None:
    _, secret = tenant
    rows = [project_row("STG-1", relationship_manager="Zelda Quintrell",
                        deployment_specialist="zq.secretive")]
    post(http, secret, batch(rows))
    post(http, secret, batch([project_row("", delivery_partner="Zelda Quintrell")]))
    # the server logs a request after its response is sent: wait for both lines
    err = ""
    deadline = time.monotonic() + 10
    while True:
        err += capfd.readouterr().err
        events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        requests = [e for e in events if e.get("event") == "request"]
        if len(requests) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [e["status"] for e in requests] == [200, 422]
    assert requests[0]["rows"] == 1 and requests[0]["anomalies_count"] == 2
    for field in ("correlation_id", "tenant_id", "batch_id", "inserted", "updated", "parse_ms",
                  "merge_ms", "bytes", "org_memberships_upserted", "user_memberships_upserted"):
        assert field in requests[0]
        assert field in requests[1]  # a rejected import has the same fields, null if unknown
    assert requests[1]["inserted"] is None and requests[1]["tenant_id"] == "TELCO"
    for secret_or_name in (secret, "Zelda", "Quintrell", "zq.secretive", "Fulton", "STG-1"):
        assert secret_or_name not in err
