"""The dashboard in a real headless Chromium (SPEC §4.4: "works in a real browser").

Uses the system's Chromium (`/usr/bin/chromium`, installed by scripts/install-browser);
Playwright never downloads a browser here.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.support import add_login, batch, project_row
from tests.support.pages import BROWSER_TESTS, Watched

pytestmark = BROWSER_TESTS


@pytest.fixture
def history(http, tenant, directories, db) -> None:
    """Real imports (with anomalies and a reassignment), plus two weeks of request history."""
    _, secret = tenant
    auth = {"Authorization": f"Bearer {secret}"}
    batches = [
        [project_row(f"STG-{i:012d}") for i in range(1, 6)]
        + [project_row("STG-000000000006", deployment_specialist="unknown.ds"),
           project_row("STG-000000000007", delivery_partner="Acme <Civil> & Sons")],
        [project_row("STG-000000000001", deployment_specialist="ds.second"),
         project_row("STG-000000000008", relationship_manager="Nobody Known")],
        [project_row("STG-000000000002", delivery_partner="Downer"),
         project_row("STG-000000000009")],
    ]
    for rows in batches:
        response = http.post("/import-projects", json=batch(rows, batch_id=str(uuid.uuid4())),
                             headers=auth)
        assert response.status_code == 200, response.text
    db.execute("""
        insert into import_requests (tenant_id, correlation_id, status, rows, parse_ms,
                                     merge_ms, replayed, created_at)
        select 'TELCO', gen_random_uuid(),
               case when (d + n) % 7 = 0 then 422 when (d * n) % 11 = 5 then 429 else 200 end,
               1000, 20 + n, 300 + 40 * d + 25 * n, false,
               now() - make_interval(days => d, hours => n)
          from generate_series(1, 13) as d, generate_series(0, 4) as n
    """)
    db.execute("""
        insert into import_anomalies (tenant_id, batch_id, row_index, project_key, anomaly_type,
                                      severity, payload_excerpt, created_at)
        select 'TELCO', gen_random_uuid(), n, 'STG-OLD-' || d || '-' || n,
               (array['UNKNOWN_DELIVERY_PARTNER', 'UNKNOWN_DS', 'UNKNOWN_RM'])[1 + n % 3],
               case when n % 3 = 0 then 'warning' else 'error' end,
               '{"stage_application": "old"}', now() - make_interval(days => d)
          from generate_series(1, 13) as d, generate_series(0, (d % 4) * 2) as n
    """)


def test_operator_signs_in_and_sees_stats_anomalies_and_charts(
        live_server, database_url, history, tmp_path: Path, browser) -> None:
    add_login(database_url, "ops@example.com", "operator")
    ui = Watched(browser, live_server.url, tmp_path, width=1366)
    page = ui.page
    ui.sign_in("ops@example.com")  # on the console's landing page
    page.click("nav.sections >> text=Overview")
    page.wait_for_url(f"{live_server.url}/dashboard")
    assert page.inner_text("h1") == "Operator dashboard"
    cookie = next(c for c in ui.context.cookies() if c["name"] == "projects_import_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""  # invisible to scripts

    assert page.inner_text("#anomalies-24h") == "3"
    assert "TELCO" in page.inner_text("#stats-by-tenant")
    assert "UNKNOWN_DS" in page.inner_text("#stats-by-type")
    page.click("#recent-details > summary")  # the raw occurrences, collapsed at first
    errors = page.locator("#severity-error tr.anomaly")
    warnings = page.locator("#severity-warning tr.anomaly")
    assert errors.count() >= 2 and warnings.count() >= 1
    assert "Acme <Civil> & Sons" in page.inner_text("#severity-warning")  # shown as text

    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for i in range(4):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
    assert page.locator("#chart-success-rate rect[data-series='success rate']").count() >= 13
    assert page.locator("#chart-anomalies-by-type rect[data-series]").count() >= 10
    assert page.locator("#chart-membership-changes rect[data-series]").count() >= 3
    assert page.locator("#chart-import-latency circle[data-series='p95']").count() >= 13

    ui.shot("dashboard", min_bytes=20_000)
    page.locator("#charts").screenshot(path=str(tmp_path / "charts.png"))
    ui.assert_clean()  # no requests elsewhere, no CSP violations or script errors

    page.click("form.logout button")
    page.wait_for_url(f"{live_server.url}/login")
    page.goto(f"{live_server.url}/dashboard")
    assert page.url == f"{live_server.url}/login"
    ui.close()


def test_viewer_signs_in_and_sees_access_denied(live_server, database_url, browser) -> None:
    add_login(database_url, "viewer@example.com", "viewer")
    ui = Watched(browser, live_server.url)
    page = ui.page
    ui.sign_in("viewer@example.com")
    assert page.inner_text("h1") == "Access denied"
    assert page.locator("nav.sections").count() == 0
    page.goto(f"{live_server.url}/dashboard")
    assert page.inner_text("h1") == "Access denied"
    assert page.locator("svg.chart").count() == 0
    ui.close()


def test_a_wrong_password_shows_the_form_again(live_server, database_url, browser) -> None:
    add_login(database_url, "ops@example.com", "operator")
    page = browser.new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("#email", "ops@example.com")
    page.fill("#password", "not the password")
    with page.expect_response(f"{live_server.url}/login") as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 401
    assert page.inner_text("[role=alert]") == "Wrong email or password."
    assert page.input_value("#email") == "ops@example.com"
    page.close()
