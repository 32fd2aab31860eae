"""The console's imports and tenants pages, and /docs and /redoc, in a real headless Chromium
(issue 8). Full-page screenshots go to test-artifacts/ for people to look at.

/docs and /redoc render with every request to anywhere but this service aborted: the API
documentation works on a host without internet.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import add_login, batch, project_row
from tests.support.pages import ARTIFACTS, BROWSER_TESTS, Watched, rerun_batch

pytestmark = BROWSER_TESTS

SHOTS = ARTIFACTS / "imports-tenants"


def test_swagger_ui_renders_every_operation_offline(live_server: Any, browser: Any) -> None:
    ui = Watched(browser, live_server.url, SHOTS, offline=True)
    page = ui.page
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    operations = page.locator(".opblock")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert operations.count() >= 8
    assert "/import-projects" in paths and "/imports" in paths
    assert "/imports/{import_id}" in [p.replace("\u200b", "") for p in paths]
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("projects-import")
    ui.shot("docs-swagger-offline", full_page=False)
    ui.assert_clean()
    ui.close()


def test_redoc_renders_offline(live_server: Any, browser: Any) -> None:
    ui = Watched(browser, live_server.url, SHOTS, offline=True)
    page = ui.page
    page.goto(f"{live_server.url}/redoc")
    page.locator("h2", has_text="Import requests, newest first").wait_for(timeout=20_000)
    assert page.locator("h2", has_text="Import one batch of projects").count() == 1
    assert "projects-import" in page.locator("h1").first.inner_text()
    ui.shot("docs-redoc-offline", full_page=False)
    # ReDoc's "API docs by Redocly" footer links its logo from the vendor's site: the page's
    # policy refuses it, so the browser never asks the network (nothing `blocked`); the
    # refusal itself is all that may be logged
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    ui.foreign = [url for url in ui.foreign if url != logo]
    ui.errors = [e for e in ui.errors if not (logo in e and "Content Security Policy" in e)]
    ui.assert_clean()
    ui.close()


@pytest.fixture
def imports(http: Any, tenant: tuple[str, str], directories: None, db: Any,
            database_url: str) -> None:
    """Real requests: two merged batches (the first re-run), a replay and a rejected one; a
    second tenant; a fortnight of older history."""
    auth = {"Authorization": f"Bearer {tenant[1]}"}
    first = [project_row(f"STG-{i:012d}") for i in range(1, 6)] + [
        project_row("STG-000000000006", deployment_specialist="unknown.ds")]
    for payload in (batch(first, batch_id="2025-08-18T17:00:00+0930-batch-001"),
                    batch(first, batch_id="2025-08-18T17:00:00+0930-batch-001"),
                    batch([project_row("STG-000000000001", deployment_specialist="ds.second"),
                           project_row("STG-000000000007")],
                          batch_id="2025-08-19T17:00:00+0930-batch-001")):
        assert http.post("/import-projects", json=payload, headers=auth).status_code == 200
    staged = db.execute("select batch_id from staging_imports order by created_at limit 1"
                        ).fetchone()
    rerun_batch(database_url, "TELCO", staged["batch_id"])
    bad = [project_row(""), project_row("STG-X", residential="-3"),
           project_row("STG-Y", stage_application_created="19/08/2025")]
    assert http.post("/import-projects", json=batch(bad, batch_id="2025-08-20-batch-001"),
                     headers=auth).status_code == 422
    db.execute("insert into tenants (tenant_id, timezone) values ('METRO', 'Europe/Berlin')")
    db.execute("""
        insert into import_requests (tenant_id, correlation_id, status, rows, parse_ms,
                                     merge_ms, replayed, created_at, request_batch_id, source,
                                     batch_id, inserted_projects, updated_projects,
                                     unchanged_projects, org_memberships_upserted,
                                     user_memberships_upserted, anomalies_count)
        select 'METRO', gen_random_uuid(), 200, 1200, 30 + d, 400 + 10 * d, false,
               now() - make_interval(days => d), 'metro-' || d, 'crm-export',
               gen_random_uuid(), 10, 50 + d, 1140 - d, 12, 30, d % 4
          from generate_series(1, 14) as d
    """)
    db.execute("update tenants set created_at = now() - interval '30 days'")


def test_operator_opens_an_import_detail(live_server: Any, database_url: str, imports: None,
                                         browser: Any) -> None:
    add_login(database_url, "ops@example.com", "operator")
    ui = Watched(browser, live_server.url, SHOTS, width=1366)
    page = ui.page
    ui.sign_in("ops@example.com")
    page.goto(f"{live_server.url}/dashboard/imports")
    assert page.inner_text("h1") == "Imports"
    rows = page.locator("#imports-table tr.import")
    assert rows.count() == 18
    assert page.locator("#imports-table .badge.replayed").count() == 1
    assert page.locator("#freshness-table tr[data-tenant]").count() == 2
    ui.shot("imports")

    page.select_option("#filter-tenant", "TELCO")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/dashboard/imports?tenant=TELCO*")
    assert rows.count() == 4
    when = page.locator("#imports-table time").first
    assert when.get_attribute("title").endswith(" UTC")
    assert when.get_attribute("datetime").endswith("Z")

    page.locator("#imports-table tr.import").nth(3).locator("a").click()  # the first batch
    page.wait_for_url("**/dashboard/imports/*")
    assert page.inner_text("h1").startswith("Import request ")
    facts = page.inner_text("#request-facts")
    assert "2025-08-18T17:00:00+0930-batch-001" in facts and "200" in facts
    metrics = page.inner_text("#staged-metrics")
    assert "inserted_projects" in metrics and "anomalies_count" in metrics
    assert page.locator("#reruns tbody tr").count() == 1
    ui.shot("import-detail")

    page.go_back()
    page.locator("#imports-table tr.import.status-422 a").click()
    page.wait_for_url("**/dashboard/imports/*")
    assert "3 contract violations" in page.inner_text("#violations-total")
    assert "required" in page.inner_text("#violations-by-code")
    ui.shot("import-rejected")
    ui.assert_clean()
    ui.close()


def test_admin_pauses_and_resumes_a_tenant(live_server: Any, database_url: str,
                                           imports: None, browser: Any) -> None:
    add_login(database_url, "admin@example.com", "admin")
    ui = Watched(browser, live_server.url, SHOTS)
    page = ui.page
    ui.sign_in("admin@example.com")
    page.goto(f"{live_server.url}/dashboard/tenants")
    telco = page.locator("#tenant-TELCO")
    assert "no, imports are accepted" in telco.inner_text()
    telco.get_by_label("Reason for pausing TELCO").fill("upstream export broken, INC-4711")
    telco.get_by_role("button", name="Pause imports").click()
    page.wait_for_url("**/dashboard/tenants?done=paused%3ATELCO")
    assert page.inner_text("[role=status]") == "Tenant TELCO paused."
    state = page.locator("#tenant-TELCO .pause-state").inner_text()
    assert "upstream export broken, INC-4711" in state
    assert page.locator("#tenant-TELCO .badge.paused").count() == 1
    assert "pause" in page.inner_text("#tenant-events")
    ui.shot("tenants-paused")

    page.goto(f"{live_server.url}/dashboard/imports")
    assert "paused" in page.locator("#freshness-table tr[data-tenant=TELCO]").inner_text()

    page.goto(f"{live_server.url}/dashboard/tenants")
    page.get_by_role("button", name="Resume imports of TELCO").click()
    page.wait_for_url("**/dashboard/tenants?done=resumed%3ATELCO")
    assert "no, imports are accepted" in page.locator("#tenant-TELCO").inner_text()
    assert page.locator("#tenant-events tbody tr").count() == 2
    ui.shot("tenants-resumed")
    ui.assert_clean()
    ui.close()


def test_pages_fit_a_phone(live_server: Any, database_url: str, imports: None,
                           browser: Any) -> None:
    add_login(database_url, "admin@example.com", "admin")
    ui = Watched(browser, live_server.url, SHOTS, width=390)
    page = ui.page
    ui.sign_in("admin@example.com")
    for path, name in (("/dashboard/imports", "imports-390"),
                       ("/dashboard/tenants", "tenants-390")):
        page.goto(f"{live_server.url}{path}")
        ui.shot(name)
        page.screenshot(path=str(SHOTS / f"{name}-top.png"))
    page.goto(f"{live_server.url}/dashboard/imports")
    page.locator("#imports-table tr.import a").first.click()
    page.wait_for_url("**/dashboard/imports/*")
    ui.shot("import-detail-390")
    page.goto(f"{live_server.url}/dashboard/imports")
    reached = []
    for _ in range(25):  # the filters are reachable by keyboard, in order
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
    assert reached.index("filter-tenant") < reached.index("filter-status") < reached.index(
        "filter-since")
    ui.assert_clean()
    ui.close()
