"""The console's imports and tenants pages over real HTTP: roles (in HTTP and in the
database), filters, times in the tenant's zone with UTC on hover, pause/resume forms with CSRF."""

from __future__ import annotations

import contextlib
import html as html_text
import re
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import add_login, batch, csrf_of, project_row
from tests.support.pages import sign_in

ADMIN, OPERATOR, VIEWER = "admin@example.com", "ops@example.com", "viewer@example.com"


@pytest.fixture
def logins(database_url: str) -> None:
    for email, role in ((ADMIN, "admin"), (OPERATOR, "operator"), (VIEWER, "viewer")):
        add_login(database_url, email, role)


@pytest.fixture
def history(http: httpx.Client, tenant: tuple[str, str], directories: None) -> None:
    auth = {"Authorization": f"Bearer {tenant[1]}"}
    ok = http.post("/import-projects", json=batch(
        [project_row("STG-1"), project_row("STG-2", deployment_specialist="ghost")],
        batch_id="nightly-001"), headers=auth)
    assert ok.status_code == 200
    bad = http.post("/import-projects", json=batch([project_row("")], batch_id="nightly-002"),
                    headers=auth)
    assert bad.status_code == 422


@contextlib.contextmanager
def client_as(live_server: Any, email: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert sign_in(client, live_server.url, email).status_code == 303
        yield client


def test_imports_page_lists_requests_with_local_times_and_filters(
        live_server: Any, logins: None, history: None, db: psycopg.Connection[Any]) -> None:
    with client_as(live_server, OPERATOR) as ops:
        page = ops.get("/dashboard/imports")
        assert page.status_code == 200, page.text
        html = page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        rows = re.findall(r'<tr class="import status-(\d+)" data-id="(\d+)"', html)
        assert [status for status, _ in rows] == ["422", "200"]
        assert "nightly-001" in html and "nightly-002" in html and "contract_violation" in html
        assert "rows break the contract <small class=\"code\">contract_violation</small>" in html
        # Adelaide is UTC+9:30 or +10:30: the wall clock differs from the UTC on hover
        received = re.search(r'<time datetime="([^"]+Z)" title="([^"]+ UTC)">([^<]+)</time>',
                             html.split('id="imports-table"')[1])
        assert received and received.group(3).endswith(("ACST", "ACDT"))
        assert 'id="freshness-table"' in html and 'data-tenant="TELCO"' in html
        freshness = html.split('id="freshness-table"')[1].split("</table>")[0]
        assert "next expected" in freshness and "last expected" not in freshness

        failed = ops.get("/dashboard/imports", params={"status": "422", "tenant": "TELCO"}).text
        assert re.findall(r'<tr class="import status-(\d+)"', failed) == ["422"]
        assert '<option value="422" selected>' in failed
        future = ops.get("/dashboard/imports", params={"since": "2999-01-01"}).text
        assert "No import requests match these filters." in future
        for bad in ({"status": "ok"}, {"since": "2025-13-45"}, {"tenant": "no such!"},
                    {"cursor": "garbage"}):
            refused = ops.get("/dashboard/imports", params=bad)
            assert refused.status_code == 400, bad

        merged = rows[1][1]
        detail = ops.get(f"/dashboard/imports/{merged}")
        assert detail.status_code == 200
        assert 'id="staged-metrics"' in detail.text and "inserted_projects" in detail.text
        rejected = ops.get(f"/dashboard/imports/{rows[0][1]}").text
        assert 'id="violations-by-code"' in rejected and "required" in rejected
        assert ops.get("/dashboard/imports/99999").status_code == 404
        assert ops.get("/dashboard/imports/abc").status_code == 404


def test_imports_pages_page_through_history(live_server: Any, logins: None,
                                            tenant: tuple[str, str],
                                            db: psycopg.Connection[Any]) -> None:
    db.execute("""
        insert into import_requests (tenant_id, correlation_id, status, rows, created_at,
                                     request_batch_id)
        select 'TELCO', gen_random_uuid(), 200, n, now() - make_interval(mins => n), 'b-' || n
          from generate_series(1, 120) as n
    """)
    seen: list[str] = []
    with client_as(live_server, OPERATOR) as ops:
        link: str | None = "/dashboard/imports"
        while link:
            html = ops.get(link.replace("&amp;", "&")).text
            seen += re.findall(r'<span class="upstream">(b-\d+)</span>', html)
            found = re.search(r'<a href="([^"]+)" rel="next">', html)
            link = found.group(1) if found else None
    assert seen == [f"b-{n}" for n in range(1, 121)]


def test_tenants_page_shows_freshness_secrets_and_admin_forms(
        live_server: Any, logins: None, history: None) -> None:
    with client_as(live_server, OPERATOR) as ops:
        html = ops.get("/dashboard/tenants").text
        assert 'id="tenant-TELCO"' in html and "1 valid" in html
        # the daily batch on the tenant's clock: today's (or none today), and what is next
        daily = re.search(r'class="freshness-state">([^<]+)</dd>', html)
        assert daily, html
        assert re.fullmatch(r"(today's arrived at \d\d:\d\d AC[DS]T|no batch expected today); "
                            r"next expected \w{3} \d{4}-\d\d-\d\d 17:00 AC[DS]T",
                            html_text.unescape(daily.group(1))), daily.group(1)
        assert "pit_" not in html and "sha256$" not in html  # never the secrets
        assert "/pause" not in html and "for the admin role" in html
    with client_as(live_server, ADMIN) as admin:
        html = admin.get("/dashboard/tenants").text
        assert 'action="/dashboard/tenants/TELCO/pause"' in html


def test_admin_pauses_and_resumes_with_csrf(live_server: Any, logins: None, history: None,
                                            http: httpx.Client, tenant: tuple[str, str],
                                            db: psycopg.Connection[Any]) -> None:
    origin = {"Origin": live_server.url}
    with client_as(live_server, ADMIN) as admin:
        csrf = csrf_of(admin.get("/dashboard/tenants").text)
        forged = admin.post("/dashboard/tenants/TELCO/pause",
                            data={"csrf": "0" * 64, "reason": "x"}, headers=origin)
        assert forged.status_code == 403
        no_reason = admin.post("/dashboard/tenants/TELCO/pause",
                               data={"csrf": csrf, "reason": "  "}, headers=origin)
        assert no_reason.status_code == 400
        cross_site = admin.post("/dashboard/tenants/TELCO/pause",
                                data={"csrf": csrf, "reason": "x"},
                                headers={"Origin": "https://evil.example"})
        assert cross_site.status_code == 403
        assert db.execute("select paused_at from tenants").fetchone() == {"paused_at": None}

        done = admin.post("/dashboard/tenants/TELCO/pause",
                          data={"csrf": csrf, "reason": "supplier <b>outage</b>"},
                          headers=origin)
        assert done.status_code == 303
        assert done.headers["location"] == "/dashboard/tenants?done=paused%3ATELCO"
        page = admin.get(done.headers["location"]).text
        assert "Tenant TELCO paused." in page
        assert "supplier &lt;b&gt;outage&lt;/b&gt;" in page  # shown as text
        assert 'action="/dashboard/tenants/TELCO/resume"' in page
        answer = http.post("/import-projects",
                           json=batch([project_row("STG-9")], batch_id="nightly-009"),
                           headers={"Authorization": f"Bearer {tenant[1]}"})
        assert answer.status_code == 423
        freshness = admin.get("/dashboard/imports").text.split('id="freshness-table"')[1]
        assert "supplier &lt;b&gt;outage&lt;/b&gt;" in freshness

        resumed = admin.post("/dashboard/tenants/TELCO/resume", data={"csrf": csrf},
                             headers=origin)
        assert resumed.status_code == 303
        # the batch the pause refused needs re-sending: the page says which, and when
        after = admin.get(resumed.headers["location"]).text
        assert "Tenant TELCO resumed." in after
        resend = after.split('id="resend-list"')[1].split("</ul>")[0]
        assert re.findall(r'<span class="upstream">([^<]+)</span>', resend) == ["nightly-009"]
        assert "ACST" in resend or "ACDT" in resend
        assert 'id="resend-list"' not in admin.get("/dashboard/tenants").text
        assert admin.post("/dashboard/tenants/NOPE/resume", data={"csrf": csrf},
                          headers=origin).status_code == 404
    events = db.execute("select action, actor from tenant_events order by id").fetchall()
    assert [(e["action"], e["actor"]) for e in events] == [("pause", ADMIN), ("resume", ADMIN)]


def test_operators_and_viewers_are_refused_pause(live_server: Any, logins: None,
                                                 history: None,
                                                 db: psycopg.Connection[Any]) -> None:
    origin = {"Origin": live_server.url}
    for email in (OPERATOR, VIEWER):
        with client_as(live_server, email) as client:
            csrf = csrf_of(client.get("/dashboard/imports").text)
            refused = client.post("/dashboard/tenants/TELCO/pause",
                                  data={"csrf": csrf, "reason": "x"}, headers=origin)
            assert refused.status_code == 403
    assert db.execute("select count(*) as n from tenant_events").fetchone() == {"n": 0}


def test_viewer_is_refused_every_page(live_server: Any, logins: None, history: None) -> None:
    with client_as(live_server, VIEWER) as viewer:
        for path in ("/dashboard/imports", "/dashboard/imports/1", "/dashboard/tenants"):
            page = viewer.get(path)
            assert page.status_code == 403, path
            assert "Access denied" in page.text and "nightly-001" not in page.text
    anonymous = httpx.get(f"{live_server.url}/dashboard/tenants")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
