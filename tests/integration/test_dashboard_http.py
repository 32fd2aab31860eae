"""The operator dashboard over real HTTP (SPEC §4.4): sign-in, cookie, roles, CSRF, content."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import batch, project_row

PASSWORD = "correct horse battery"
OPERATOR = "ops@example.com"
VIEWER = "viewer@example.com"


def add_user(database_url: str, email: str, role: str, password: str = PASSWORD) -> None:
    """Create a login through the same manager the CLI uses."""
    from projects_import.db.connection import Database
    from projects_import.users import UserStore

    async def add() -> None:
        async with Database(database_url, max_size=1) as database:
            await UserStore(database).add(email, role, password)

    asyncio.run(add())


def sign_in(http: httpx.Client, origin: str, email: str = OPERATOR,
            password: str = PASSWORD, **headers: str) -> httpx.Response:
    return http.post("/login", data={"email": email, "password": password},
                     headers={"Origin": origin, **headers})


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert match, "the page has no sign-out form"
    return match.group(1)


def section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start:page.index("</section>", start)]


@pytest.fixture
def operator(database_url: str) -> str:
    add_user(database_url, OPERATOR, "operator")
    return OPERATOR


def test_dashboard_redirects_to_the_login_form_when_signed_out(http, live_server) -> None:
    response = http.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    form = http.get("/login")
    assert form.status_code == 200
    assert form.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/login"' in form.text
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    css = http.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert http.get("/dashboard/static/../users.py").status_code == 404


def test_sign_in_sets_a_hardened_session_cookie_and_only_its_hash_is_stored(
        http, live_server, operator, db) -> None:
    response = sign_in(http, live_server.url)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/problems"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("projects_import_session=")
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "samesite", "max-age"} <= flags
    assert "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert "secure" not in flags  # plain http here; see the https test
    token = http.cookies["projects_import_session"]
    assert len(token) >= 40

    stored = db.execute("select token_sha256, email, expires_at - created_at as lifetime "
                        "from dashboard_sessions").fetchall()
    assert len(stored) == 1
    assert bytes(stored[0]["token_sha256"]) == hashlib.sha256(token.encode()).digest()
    assert stored[0]["email"] == OPERATOR
    assert stored[0]["lifetime"].total_seconds() == 12 * 3600

    page = http.get("/dashboard")
    assert page.status_code == 200
    assert "Operator dashboard" in page.text
    assert page.headers["cache-control"] == "no-store"
    # the login page sends a signed-in browser on to the dashboard
    assert http.get("/login").headers["location"] == "/dashboard/problems"


def test_cookie_is_secure_when_the_request_came_over_https(http, live_server, operator) -> None:
    # loopback is a trusted proxy by default (FORWARDED_ALLOW_IPS), as a local TLS proxy
    response = sign_in(http, f"https://127.0.0.1:{live_server.port}",
                       **{"X-Forwarded-Proto": "https"})
    assert response.status_code == 303
    flags = [part.strip().lower() for part in response.headers["set-cookie"].split(";")]
    assert "secure" in flags and "httponly" in flags


def test_wrong_credentials_answer_the_form_again_with_401(http, live_server, operator,
                                                          db) -> None:
    for email, password in ((OPERATOR, "not the password"), ("nobody@example.com", PASSWORD),
                            (OPERATOR, "")):
        response = sign_in(http, live_server.url, email, password)
        assert response.status_code == 401
        assert "set-cookie" not in response.headers
        assert '<form method="post" action="/login"' in response.text
        assert ("Wrong email or password." in response.text
                or "Enter your email and password." in response.text)
    assert db.execute("select count(*) as n from dashboard_sessions").fetchone()["n"] == 0
    assert http.get("/dashboard").status_code == 303


def test_wrong_passwords_back_off_alike_for_known_and_unknown_emails_and_lock_nobody_out(
        http, live_server, operator, db) -> None:
    """The same answers whether the email exists or not (no enumeration), and a short capped
    backoff for the guessing address instead of a lock on the login."""

    def guesses(email: str, address: str) -> list[tuple[int, str]]:
        answers = []
        for _ in range(8):
            response = sign_in(http, live_server.url, email, "wrong password!",
                               **{"X-Forwarded-For": address})
            message = re.sub(r"\d+ second", "N second", response.text)
            answers.append((response.status_code, message.replace(email, "EMAIL")))
        return answers

    known = guesses(OPERATOR, "198.51.100.1")
    unknown = guesses("nobody.here@example.com", "198.51.100.2")
    assert [status for status, _ in known] == [401] * 5 + [429] * 3
    assert known == unknown
    assert "Too many sign-in attempts" in known[-1][1]
    # the right password from an address that did not guess signs in at once: no lockout
    assert sign_in(http, live_server.url, **{"X-Forwarded-For": "198.51.100.3"}
                   ).status_code == 303
    assert db.execute("select locked_until from dashboard_users").fetchone() == {
        "locked_until": None}


def test_cookie_is_secure_whenever_the_public_url_is_https(settings, make_server,
                                                           monkeypatch, operator) -> None:
    from projects_import.settings import Settings

    monkeypatch.setenv("PROJECTS_IMPORT_PUBLIC_URL", "https://console.example.com")
    server = make_server(Settings())
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = sign_in(client, server.url)  # plain http to the service itself
    assert response.status_code == 303
    flags = [part.strip().lower() for part in response.headers["set-cookie"].split(";")]
    assert "secure" in flags


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_other_roles_see_access_denied(http, live_server, database_url, role) -> None:
    add_user(database_url, VIEWER, role)
    assert sign_in(http, live_server.url, VIEWER).status_code == 303
    page = http.get("/dashboard")
    assert page.status_code == 403
    assert "Access denied" in page.text
    assert "Recent anomalies" not in page.text


def test_the_database_refuses_a_viewer_too(db, database_url, tenant, directories,
                                           http) -> None:
    _, secret = tenant
    rows = [project_row("STG-000000000001", deployment_specialist="nobody")]
    http.post("/import-projects", json=batch(rows), headers={"Authorization": f"Bearer {secret}"})

    def as_role(role: str, sql: str) -> list[dict[str, Any]]:
        claims = {"sub": "x@example.com", "role": "authenticated",
                  "app_metadata": {"role": role}}
        with psycopg.connect(database_url) as conn, conn.cursor() as cur:
            cur.execute("select set_config('request.jwt.claims', %s, true)",
                        (json.dumps(claims),))
            cur.execute("set local role authenticated")
            cur.execute(sql)
            return cur.fetchall()  # type: ignore[return-value]

    assert len(as_role("operator", "select * from fn_dashboard_membership_changes()")) == 1
    assert len(as_role("operator", "select id from import_anomalies")) == 1
    assert as_role("viewer", "select id from import_anomalies") == []
    assert as_role("viewer", "select id from import_requests") == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role("viewer", "select * from fn_dashboard_membership_changes()")
    for table in ("dashboard_users", "dashboard_sessions", "staging_imports"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role("admin", f"select * from {table}")


def test_cross_site_forms_are_refused(http, live_server, operator, db) -> None:
    foreign = sign_in(http, live_server.url, **{"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert "cross-site form refused" in foreign.text
    assert "set-cookie" not in foreign.headers
    null_origin = sign_in(http, live_server.url, **{"Origin": "null"})
    assert null_origin.status_code == 403 and "set-cookie" not in null_origin.headers
    # a script or API client sends neither Origin nor Referer: allowed (no ambient cookies)
    bare = httpx.post(f"{live_server.url}/login", data={"email": OPERATOR, "password": PASSWORD})
    assert bare.status_code == 303 and "projects_import_session" in bare.headers["set-cookie"]
    by_referer = httpx.post(f"{live_server.url}/login",
                            data={"email": OPERATOR, "password": PASSWORD},
                            headers={"Referer": f"{live_server.url}/login"})
    assert by_referer.status_code == 303
    not_a_form = http.post("/login", json={"email": OPERATOR, "password": PASSWORD},
                           headers={"Origin": live_server.url})
    assert not_a_form.status_code == 400
    assert "application/x-www-form-urlencoded" in not_a_form.text

    assert sign_in(http, live_server.url).status_code == 303
    page = http.get("/dashboard").text
    # sign-out needs the session's form token as well as the origin
    forged = http.post("/logout", data={"csrf": "0" * 64}, headers={"Origin": live_server.url})
    assert forged.status_code == 403
    from_elsewhere = http.post("/logout", data={"csrf": csrf_of(page)},
                               headers={"Origin": "http://evil.example"})
    assert from_elsewhere.status_code == 403
    assert http.get("/dashboard").status_code == 200


def test_sign_out_ends_the_session(http, live_server, operator, db) -> None:
    assert sign_in(http, live_server.url).status_code == 303
    token = http.cookies["projects_import_session"]
    page = http.get("/dashboard").text
    response = http.post("/logout", data={"csrf": csrf_of(page)},
                         headers={"Origin": live_server.url})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert 'projects_import_session=""' in response.headers["set-cookie"]
    assert db.execute("select count(*) as n from dashboard_sessions").fetchone()["n"] == 0
    replayed = httpx.get(f"{live_server.url}/dashboard",
                         cookies={"projects_import_session": token})
    assert replayed.status_code == 303


def test_an_expired_or_removed_session_signs_nobody_in(http, live_server, operator,
                                                        db) -> None:
    assert sign_in(http, live_server.url).status_code == 303
    db.execute("update dashboard_sessions set expires_at = now() - interval '1 second'")
    assert http.get("/dashboard").status_code == 303
    assert sign_in(http, live_server.url).status_code == 303
    db.execute("update dashboard_users set role = 'viewer'")  # a role change applies at once
    assert http.get("/dashboard").status_code == 403
    db.execute("delete from dashboard_users")
    assert http.get("/dashboard").status_code == 303


HOSTILE = '<script>alert("x")</script>'
CONSOLE_SCRIPT = '<script src="/dashboard/static/console.js" defer></script>'
RAW_ONLY = "RAW-ONLY-MARKER-7f3a"


def test_page_shows_stats_excerpts_grouped_by_severity_and_escapes_values(
        http, live_server, operator, tenant, directories, db) -> None:
    _, secret = tenant
    rows = [
        project_row("STG-000000000001", deployment_specialist=HOSTILE),        # UNKNOWN_DS
        project_row("STG-000000000002", delivery_partner="Nobody & Co"),       # UNKNOWN_DP
        project_row("STG-000000000003", notes=RAW_ONLY),                       # no anomaly
        project_row("STG-000000000004", relationship_manager="Who Ever",       # UNKNOWN_RM,
                    padding="x" * 600 + RAW_ONLY),                             # past 500 chars
    ]
    imported = http.post("/import-projects", json=batch(rows),
                         headers={"Authorization": f"Bearer {secret}"})
    assert imported.status_code == 200, imported.text
    assert imported.json()["metrics"]["anomalies_count"] == 3
    assert sign_in(http, live_server.url).status_code == 303
    page = http.get("/dashboard").text

    stats = section(page, "stats")
    assert re.search(r'id="anomalies-24h">3<', stats)
    assert re.search(r"<td>TELCO</td><td class=\"num\">3</td>", stats)
    assert re.search(r"<td>UNKNOWN_DS</td><td class=\"num\">1</td>", stats)
    assert re.search(r"sev-error\">error</span></td><td class=\"num\">2</td>", stats)
    assert re.search(r"sev-warning\">warning</span></td><td class=\"num\">1</td>", stats)
    assert re.search(r'id="imports-24h">1<', stats)

    errors, warnings = section(page, "severity-error"), section(page, "severity-warning")
    assert "STG-000000000001" in errors and "STG-000000000004" in errors
    assert "UNKNOWN_DS" in errors and "UNKNOWN_RM" in errors
    assert "STG-000000000002" in warnings and "UNKNOWN_DELIVERY_PARTNER" in warnings
    assert "STG-000000000002" not in errors
    assert "Nobody &amp; Co" in warnings  # the excerpt is shown, escaped

    assert HOSTILE not in page
    assert "<script" not in page.replace(CONSOLE_SCRIPT, "")  # the one same-origin script
    assert "&lt;script&gt;alert(" in errors
    assert RAW_ONLY not in page  # the staged raw payload never reaches the page
    assert "STG-000000000003" not in section(page, "recent")


def test_the_four_charts_render_from_requests_batches_and_anomalies(
        http, live_server, operator, tenant, directories, db) -> None:
    _, secret = tenant
    auth = {"Authorization": f"Bearer {secret}"}
    first = batch([project_row("STG-000000000001"), project_row("STG-000000000002")],
                  batch_id=str(uuid.uuid4()))
    assert http.post("/import-projects", json=first, headers=auth).status_code == 200
    changed = batch([project_row("STG-000000000001", deployment_specialist="ds.second")],
                    batch_id=str(uuid.uuid4()))
    assert http.post("/import-projects", json=changed, headers=auth).status_code == 200
    assert http.post("/import-projects", json={"rows": "no"}, headers=auth).status_code == 400
    db.execute("insert into import_requests (tenant_id, correlation_id, status, rows, "
               "parse_ms, merge_ms, replayed) values "
               "('TELCO', gen_random_uuid(), 200, 10, 10, 90, false), "
               "('TELCO', gen_random_uuid(), 200, 10, 10, 190, false)")
    assert sign_in(http, live_server.url).status_code == 303
    page = http.get("/dashboard", params={"days": 1}).text

    svgs = re.findall(r'<svg [^>]*class="chart" id="([a-z-]+)"', page)
    assert svgs == ["chart-success-rate", "chart-anomalies-by-type",
                    "chart-membership-changes", "chart-import-latency"]
    rate = section(page, "charts")
    assert re.search(r"4 of 5 import requests succeeded \(80\.0%\)", rate)
    memberships = page[page.index('id="chart-membership-changes"'):]
    memberships = memberships[:memberships.index("</svg>")]
    assert first["batch_id"] in memberships and changed["batch_id"] in memberships
    assert "1 user memberships upserted, 1 ended" in memberships  # DS reassigned
    latency = page[page.index('id="chart-import-latency"'):]
    latency = latency[:latency.index("</svg>")]
    assert len(re.findall(r'<circle [^>]*data-series="p50"', latency)) == 1
    assert "No merged batches" not in latency
    anomalies = page[page.index('id="chart-anomalies-by-type"'):]
    assert "No anomalies in this window" in anomalies[:anomalies.index("</svg>")]


def test_the_window_parameter_is_checked(http, live_server, operator) -> None:
    assert sign_in(http, live_server.url).status_code == 303
    assert http.get("/dashboard", params={"days": 90}).status_code == 200
    bad = http.get("/dashboard", params={"days": "0"})
    assert bad.status_code == 400
    assert "days must be a whole number from 1 to 90" in bad.text


def test_hostile_sign_in_and_window_values_are_refused_not_500(http, live_server,
                                                               operator) -> None:
    response = http.post("/login", data={"email": "a\x00@b", "password": "x" * 20},
                         headers={"Origin": live_server.url})
    assert response.status_code == 401
    assert sign_in(http, live_server.url).status_code == 303
    for days in ("\u00b2", "0", "91", "1e2", "-1"):
        assert http.get("/dashboard", params={"days": days}).status_code == 400, days
    assert http.get("/dashboard", params={"days": "7"}).status_code == 200


def test_one_tenant_s_charts_bucket_and_label_on_its_clock(
        http, live_server, operator, tenant, db) -> None:
    """TELCO is in Adelaide (UTC+9:30 or +10:30): its hours and days start on the half hour of
    UTC; every tenant's charts are in UTC and say so."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    # a request 2 days and 40 minutes ago: its Adelaide day and its UTC day can differ
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2, minutes=40)
    db.execute("insert into import_requests (tenant_id, correlation_id, status, rows, "
               "parse_ms, merge_ms, replayed, created_at) values "
               "('TELCO', gen_random_uuid(), 200, 10, 10, 90, false, %s)", (at,))
    db.execute("insert into tenants (tenant_id, timezone) values ('METRO', 'Europe/Berlin')")
    assert sign_in(http, live_server.url).status_code == 303

    one = http.get("/dashboard", params={"days": 7, "tenant": "TELCO"})
    assert one.status_code == 200, one.text
    local = at.astimezone(ZoneInfo("Australia/Adelaide"))
    assert "TELCO on its clock (Australia/Adelaide)" in section(one.text, "charts")
    assert (f"{local:%a %Y-%m-%d} (Australia/Adelaide): 1 of 1 import requests succeeded"
            in one.text)
    hourly = http.get("/dashboard", params={"days": 2, "tenant": "TELCO"}).text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:00 \(Australia/Adelaide\): no import requests",
                     hourly)

    every = http.get("/dashboard", params={"days": 7}).text
    assert "every tenant, times in UTC" in every
    assert f"{at:%a %Y-%m-%d} (UTC): 1 of 1 import requests succeeded" in every
    other = http.get("/dashboard", params={"days": 7, "tenant": "METRO"}).text
    assert "1 of 1 import requests" not in other  # TELCO's request is not METRO's
    for bad in ("NOPE", "not a tenant!"):
        refused = http.get("/dashboard", params={"tenant": bad})
        assert refused.status_code == 400, bad
