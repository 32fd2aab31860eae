"""GET /anomalies, POST /anomalies/alerts and the lifecycle routes over real HTTP (SPEC §4.2,
§4.3), with anomalies made by real imports and a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from projects_import.alerting.webhook import WebhookConfigError, validate_webhook
from projects_import.settings import Settings
from tests.support import JWT_SECRET, LiveServer, batch, bearer, project_row, user_token

ROW_FIELDS = {"id", "tenant_id", "batch_id", "row_index", "project_key", "anomaly_type",
              "severity", "payload_excerpt", "correlation_id", "created_at", "status"}
# Values of the imported rows that must never reach a webhook or a log line.
UNKNOWN_DS = "ghost.specialist"
UNKNOWN_PARTNER = "Nowhere Builders"
UNKNOWN_RM = "Nobody Known"


token = user_token


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    uuid.UUID(body["error"]["correlation_id"])
    assert "Traceback" not in response.text
    message: str = body["error"]["message"]
    assert message
    return message


@pytest.fixture
def imported(http: httpx.Client, tenant: tuple[str, str], directories: None) -> dict[str, Any]:
    """One real batch: row 0 clean, row 1 unknown DS, row 2 unknown partner and RM."""
    _, secret = tenant
    rows = [
        project_row("STG-000000000001"),
        project_row("STG-000000000002", deployment_specialist=UNKNOWN_DS),
        project_row("STG-000000000003", delivery_partner=UNKNOWN_PARTNER,
                    relationship_manager=UNKNOWN_RM),
    ]
    response = http.post("/import-projects", json=batch(rows), headers=bearer(secret))
    assert response.status_code == 200, response.text
    assert response.json()["metrics"]["anomalies_count"] == 3
    body: dict[str, Any] = response.json()
    return body


def add_old_anomaly(db: psycopg.Connection[Any], hours_ago: float, tenant: str = "TELCO",
                    severity: str = "error") -> int:
    row = db.execute(
        "insert into import_anomalies (tenant_id, batch_id, row_index, project_key, "
        "anomaly_type, severity, payload_excerpt, correlation_id, created_at) values "
        "(%s, %s, 0, 'STG-OLD', 'UNKNOWN_DS', %s, '{}', %s, now() - make_interval(secs => %s)) "
        "returning id", (tenant, uuid.uuid4(), severity, uuid.uuid4(), hours_ago * 3600),
    ).fetchone()
    assert row is not None
    return int(row["id"])


# ------------------------------------------------------------------- GET /anomalies: 200

def test_operator_reads_recent_anomalies(http, imported) -> None:
    response = http.get("/anomalies", headers=bearer(token("operator")))
    assert response.status_code == 200, response.text
    rows = response.json()["anomalies"]
    assert len(rows) == 3
    assert all(row.keys() >= ROW_FIELDS for row in rows)
    assert all("raw" not in row for row in rows)
    assert {(r["project_key"], r["anomaly_type"], r["severity"]) for r in rows} == {
        ("STG-000000000002", "UNKNOWN_DS", "error"),
        ("STG-000000000003", "UNKNOWN_DELIVERY_PARTNER", "warning"),
        ("STG-000000000003", "UNKNOWN_RM", "error"),
    }
    first = rows[0]
    assert first["batch_id"] == imported["batch_id"]
    assert first["correlation_id"] == imported["correlation_id"]
    assert first["tenant_id"] == "TELCO"
    assert first["status"] == "open"
    assert len(first["payload_excerpt"]) <= 500
    assert json.loads(first["payload_excerpt"])["stage_application"] == first["project_key"]
    times = [r["created_at"] for r in rows]
    assert times == sorted(times, reverse=True)


def test_admin_and_a_supabase_shaped_token_from_pyjwt_work(http, imported) -> None:
    """A token minted by any tool with Supabase's shape is accepted, not only ours."""
    now = int(time.time())
    supabase_token = jwt.encode({
        "aud": "authenticated", "exp": now + 600, "iat": now, "iss": "supabase",
        "sub": str(uuid.uuid4()), "email": "ops@example.com", "phone": "",
        "role": "authenticated", "aal": "aal1", "session_id": str(uuid.uuid4()),
        "app_metadata": {"provider": "email", "providers": ["email"], "role": "operator"},
        "user_metadata": {},
    }, JWT_SECRET, algorithm="HS256")
    for credential in (supabase_token, token("admin")):
        response = http.get("/anomalies", headers=bearer(credential))
        assert response.status_code == 200, response.text
        assert len(response.json()["anomalies"]) == 3


def test_stats_aggregate_by_tenant_type_and_severity(http, imported) -> None:
    response = http.get("/anomalies", params={"stats": "true"}, headers=bearer(token()))
    assert response.status_code == 200, response.text
    stats = response.json()["stats"]
    assert {(s["tenant_id"], s["anomaly_type"], s["severity"], s["count"]) for s in stats} == {
        ("TELCO", "UNKNOWN_DS", "error", 1),
        ("TELCO", "UNKNOWN_DELIVERY_PARTNER", "warning", 1),
        ("TELCO", "UNKNOWN_RM", "error", 1),
    }
    assert "anomalies" not in response.json()


def test_window_tenant_severity_and_limit_select_rows(http, db, imported) -> None:
    old = add_old_anomaly(db, hours_ago=48)
    other = add_old_anomaly(db, hours_ago=1, tenant="OTHER", severity="info")
    auth = bearer(token())

    def ids(**params: Any) -> list[int]:
        response = http.get("/anomalies", params=params, headers=auth)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["anomalies"]]

    assert old not in ids()
    assert old in ids(windowHours=72)
    assert len(ids(windowHours=72)) == 5
    assert ids(tenant="OTHER") == [other]
    assert len(ids(tenant="TELCO")) == 3
    assert ids(severity="info") == [other]
    assert len(ids(severity="error,warning")) == 3
    assert len(ids(severity=" Error , info")) == 3
    assert ids(tenant="NOBODY") == []
    assert len(ids(limit=2)) == 2
    newest = ids(windowHours=72, limit=1)
    assert newest == ids(windowHours=72)[:1]

    def total(**params: Any) -> int:
        response = http.get("/anomalies", params={"stats": "true", **params}, headers=auth)
        assert response.status_code == 200, response.text
        return sum(s["count"] for s in response.json()["stats"])

    assert (total(), total(windowHours=72), total(tenant="OTHER"), total(severity="warning"),
            total(stats="1")) == (4, 5, 1, 1, 4)
    plain = http.get("/anomalies", params={"stats": "false"}, headers=auth)
    assert "anomalies" in plain.json()


def test_the_limit_defaults_to_100(http, db, tenant) -> None:
    db.execute(
        "insert into import_anomalies (tenant_id, batch_id, row_index, project_key, "
        "anomaly_type, severity, payload_excerpt, correlation_id) "
        "select 'TELCO', %s, g, 'STG-' || g, 'UNKNOWN_DS', 'error', '{}', %s "
        "from generate_series(1, 1005) g", (uuid.uuid4(), uuid.uuid4()))
    auth = bearer(token())
    assert len(http.get("/anomalies", headers=auth).json()["anomalies"]) == 100
    assert len(http.get("/anomalies", params={"limit": 1000},
                        headers=auth).json()["anomalies"]) == 1000


# ------------------------------------------------------------------- GET /anomalies: 4xx

@pytest.mark.parametrize(("params", "named"), [
    ({"windowHours": "0"}, "windowHours"),
    ({"windowHours": "8761"}, "windowHours"),
    ({"windowHours": "abc"}, "windowHours"),
    ({"windowHours": "1.5"}, "windowHours"),
    ({"windowHours": "9" * 40}, "windowHours"),
    ({"severity": "fatal"}, "severity"),
    ({"severity": "error,critical"}, "severity"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"stats": "maybe"}, "stats"),
    ({"tenant": "bad tenant!"}, "tenant"),
])
def test_bad_parameters_answer_400_naming_the_parameter(http, params, named) -> None:
    response = http.get("/anomalies", params=params, headers=bearer(token()))
    message = assert_error(response, 400, "invalid_parameters")
    assert named in message


def test_missing_invalid_or_expired_token_answers_401(http) -> None:
    forged = jwt.encode({"sub": "x", "exp": int(time.time()) + 600,
                         "app_metadata": {"role": "operator"}}, "not-the-secret-" * 3,
                        algorithm="HS256")
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                    bearer("not.a.jwt"), bearer(forged), bearer(token(ttl=-30))):
        for method, path in (("GET", "/anomalies"), ("POST", "/anomalies/alerts")):
            response = http.request(method, path, headers=headers)
            assert_error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"].startswith("Bearer")
    expired = http.get("/anomalies", headers=bearer(token(ttl=-30)))
    assert "expired" in expired.json()["error"]["message"]


def test_other_roles_answer_403(http, imported) -> None:
    no_role = jwt.encode({"sub": "x", "exp": int(time.time()) + 600, "role": "authenticated",
                          "aud": "authenticated"}, JWT_SECRET, algorithm="HS256")
    for credential in (token("viewer"), no_role):
        for method, path in (("GET", "/anomalies"), ("POST", "/anomalies/alerts"),
                             ("POST", "/anomalies/1/acknowledge")):
            assert_error(http.request(method, path, headers=bearer(credential)), 403,
                         "forbidden")


def test_only_user_tokens_with_role_authenticated_are_let_in(http, imported) -> None:
    """An anon or service token is not a signed-in user, whatever its app_metadata says."""
    for role in ("anon", "service_role", None):
        claims: dict[str, Any] = {"sub": "x", "exp": int(time.time()) + 600,
                                  "aud": "authenticated", "app_metadata": {"role": "operator"}}
        if role is not None:
            claims["role"] = role
        credential = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
        for method, path in (("GET", "/anomalies"), ("POST", "/anomalies/alerts"),
                             ("POST", "/anomalies/1/acknowledge")):
            response = http.request(method, path, headers=bearer(credential))
            assert_error(response, 403, "forbidden")
            assert "authenticated" in response.json()["error"]["message"]


def test_request_log_has_no_names_or_payload_values(http, imported, capsys) -> None:
    capsys.readouterr()
    response = http.get("/anomalies", params={"tenant": "TELCO"}, headers=bearer(token()))
    assert response.status_code == 200
    assert UNKNOWN_DS in response.text       # the operator does see the excerpt ...
    logged = ""
    request_events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5          # the event is written just after the response
    while not request_events and time.monotonic() < deadline:
        time.sleep(0.02)
        logged += capsys.readouterr().err
        events = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
        request_events = [e for e in events if e.get("path") == "/anomalies"]
    assert request_events and request_events[-1]["rows"] == 3
    for value in (UNKNOWN_DS, UNKNOWN_PARTNER, UNKNOWN_RM, "user-operator", "Bearer"):
        assert value not in logged           # ... but the log does not


# ------------------------------------------------------------------- POST /anomalies/alerts

class Receiver:
    """A webhook receiver on 127.0.0.1 that records what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                owner.received.append({"path": self.path, "body": body.decode(),
                                       "content_type": self.headers.get("content-type")})
                self.send_response(owner.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/anomalies"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


AlertServer = Callable[..., httpx.Client]


@pytest.fixture
def alert_server(settings: Settings,
                 make_server: Callable[[Settings], LiveServer]) -> Iterator[AlertServer]:
    """Factory: an HTTP client on a live server whose alert settings are overridden."""
    clients: list[httpx.Client] = []

    def make(**overrides: Any) -> httpx.Client:
        server = make_server(settings.model_copy(update=overrides))
        client = httpx.Client(base_url=server.url, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_alerts_without_webhook_answer_204(http, imported) -> None:
    response = http.post("/anomalies/alerts", headers=bearer(token()))
    assert response.status_code == 204
    assert response.content == b""


def test_alerts_below_threshold_answer_200_and_post_nothing(alert_server, receiver,
                                                             imported) -> None:
    client = alert_server(alert_webhook=receiver.url, alert_min_count=4, alert_window_hours=1)
    response = client.post("/anomalies/alerts", headers=bearer(token()))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["alerted"] is False
    assert body["total"] == 3 and body["threshold"] == 4 and body["window_hours"] == 1
    assert body["by_severity"] == {"error": 2, "warning": 1}
    assert receiver.received == []


def test_alerts_at_threshold_post_the_aggregate_and_answer_202(alert_server, receiver, db,
                                                               imported, caplog) -> None:
    caplog.set_level(logging.INFO)
    add_old_anomaly(db, hours_ago=3)            # outside the 1-hour alert window
    client = alert_server(alert_webhook=receiver.url, alert_min_count=3, alert_window_hours=1)
    response = client.post("/anomalies/alerts", headers=bearer(token("admin")))
    assert response.status_code == 202, response.text
    assert response.json()["alerted"] is True
    assert len(receiver.received) == 1
    delivery = receiver.received[0]
    assert delivery["path"] == "/hooks/anomalies"
    assert delivery["content_type"] == "application/json"
    sent = json.loads(delivery["body"])
    assert sent["total"] == 3
    assert sent["window_hours"] == 1
    assert sent["threshold"] == 3
    assert sent["by_type"] == {"UNKNOWN_DS": 1, "UNKNOWN_DELIVERY_PARTNER": 1, "UNKNOWN_RM": 1}
    assert sent["by_severity"] == {"error": 2, "warning": 1}
    assert sent["by_tenant"] == {"TELCO": 3}
    assert sent["generated_at"].endswith("Z")
    # counts, categories, problem and batch ids only: no rows, excerpts, keys or names
    assert sent["batch_ids"] == [imported["batch_id"]] and len(sent["problem_ids"]) == 3
    for forbidden in ("payload_excerpt", "anomalies", "project_key", "STG-", "correlation_id",
                      UNKNOWN_DS, UNKNOWN_PARTNER, UNKNOWN_RM, "First Last", "user-admin"):
        assert forbidden not in delivery["body"], forbidden
    # the webhook URL (often holding a token) is not logged, not even by httpx
    assert not [r for r in caplog.records if "/hooks/anomalies" in r.getMessage()]


def test_webhook_failures_answer_502(alert_server, imported) -> None:
    with Receiver(status=500) as failing:
        client = alert_server(alert_webhook=failing.url)
        response = client.post("/anomalies/alerts", headers=bearer(token()))
        message = assert_error(response, 502, "alert_webhook_failed")
        assert "500" in message
        assert len(failing.received) == 1
    with Receiver(status=302) as redirecting:         # redirects are not followed
        client = alert_server(alert_webhook=redirecting.url)
        assert_error(client.post("/anomalies/alerts", headers=bearer(token())), 502,
                     "alert_webhook_failed")
    closed = Receiver()          # bound but never serving, then closed: connection refused
    closed.server.server_close()
    client = alert_server(alert_webhook=closed.url)
    message = assert_error(client.post("/anomalies/alerts", headers=bearer(token())), 502,
                           "alert_webhook_failed")
    assert "/hooks" not in message          # the webhook URL may hold a token: never echoed


@pytest.mark.parametrize("webhook", ["http://example.com/hook", "http://10.0.0.7/hook",
                                     "ftp://127.0.0.1/hook", "not a url"])
def test_a_non_https_webhook_is_refused_with_a_clear_error(alert_server, imported,
                                                           webhook) -> None:
    client = alert_server(alert_webhook=webhook)
    message = assert_error(client.post("/anomalies/alerts", headers=bearer(token())), 502,
                           "alert_webhook_invalid")
    assert "https" in message


@pytest.mark.parametrize("url", ["https://hooks.example.com/x?y=1", "http://127.0.0.1:9/h",
                                 "http://127.8.0.1/h", "http://[::1]:8080/h",
                                 "http://localhost/h", "HTTPS://Example.COM"])
def test_webhook_validation_accepts_https_and_loopback_http(url) -> None:
    assert validate_webhook(url) == url


@pytest.mark.parametrize("url", ["http://example.com", "http://192.168.1.5/h", "http://[::2]/",
                                 "https://", "file:///etc/passwd", "http://127.0.0.1:x/h",
                                 "http://localhost.example.com/h"])
def test_webhook_validation_refuses_the_rest(url) -> None:
    with pytest.raises(WebhookConfigError, match="ANOMALIES_ALERT_WEBHOOK"):
        validate_webhook(url)


# ------------------------------------------------------------------- lifecycle routes

def test_acknowledge_and_resolve_over_http(http, db, imported) -> None:
    auth = bearer(token())
    target = http.get("/anomalies", headers=auth).json()["anomalies"][0]["id"]
    acked = http.post(f"/anomalies/{target}/acknowledge", headers=auth)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "user-operator"
    resolved = http.post(f"/anomalies/{target}/resolve", headers=bearer(token("admin")))
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    listed = {r["id"]: r for r in http.get("/anomalies", headers=auth).json()["anomalies"]}
    assert listed[target]["status"] == "resolved"
    assert listed[target]["acknowledged_by"] == "user-operator"
    assert_error(http.post(f"/anomalies/{target}/acknowledge", headers=auth), 409,
                 "status_conflict")
    assert_error(http.post("/anomalies/987654321/resolve", headers=auth), 404, "not_found")
    assert_error(http.post("/anomalies/abc/resolve", headers=auth), 400, "invalid_parameters")
    assert_error(http.post(f"/anomalies/{target}/resolve"), 401, "unauthorized")
    stats = http.get("/anomalies", params={"stats": "true"}, headers=auth).json()["stats"]
    assert sum(s["unresolved"] for s in stats) == 2


def test_only_subject_and_role_reach_the_database(http, imported) -> None:
    """Claims PostgreSQL could not store (NUL, lone surrogates, NaN) must not turn a valid
    operator token into a 500; a subject that cannot be stored is a 401."""
    now = int(time.time())
    base = {"role": "authenticated", "app_metadata": {"role": "operator"}, "exp": now + 600,
            "aud": "authenticated"}
    odd = jwt.encode({**base, "sub": "ops-1", "x": "a\u0000b", "y": "\ud800",
                      "z": float("nan")}, JWT_SECRET, algorithm="HS256")
    for path in ("/anomalies", "/anomalies?stats=true"):
        response = http.get(path, headers=bearer(odd))
        assert response.status_code == 200, response.text
    bad_sub = jwt.encode({**base, "sub": "a\u0000b"}, JWT_SECRET, algorithm="HS256")
    response = http.get("/anomalies", headers=bearer(bad_sub))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_alerts_twice_the_second_is_suppressed(alert_server, receiver, imported, db) -> None:
    client = alert_server(alert_webhook=receiver.url, alert_secret="s3cret",
                          alert_suppress_hours=4)
    first = client.post("/anomalies/alerts", headers=bearer(token()))
    assert first.status_code == 202, first.text
    assert first.json()["deliveries"][0]["status"] == "delivered"
    # on demand, ANOMALIES_ALERT_MIN_COUNT (unset: 1, SPEC §2) is the threshold
    assert first.json()["tenants"][0]["reasons"] == ["occurrences"]   # 3 ≥ 1
    second = client.post("/anomalies/alerts", headers=bearer(token()))
    assert second.status_code == 200, second.text
    assert second.json()["alerted"] is False and second.json()["suppressed"] == 1
    assert len(receiver.received) == 1
    assert db.execute("select count(*) as n from alert_deliveries").fetchone()["n"] == 1
