"""The console's former dead ends in a real headless Chromium, at 1366 px and at 390 px: an
operator re-runs a batch from its import's page, a refused import's page has no re-run section,
the import's page lists what its batch wrote, a project's page (with and without a problem) is
reached from the links where its key appears, and resuming a tenant lists the batches its pause
refused. Full-page screenshots go to test-artifacts/dead-ends/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import add_login, batch, project_row
from tests.support.pages import ARTIFACTS, BROWSER_TESTS, Watched

pytestmark = BROWSER_TESTS

WIDTHS = (1366, 390)


@pytest.fixture
def sent(http: Any, tenant: tuple[str, str], directories: None, database_url: str) -> None:
    """A merged batch (one DS unknown), a batch refused for its contract, and three logins."""
    auth = {"Authorization": f"Bearer {tenant[1]}"}
    rows = [project_row(f"STG-{i:03d}") for i in range(1, 5)] + [
        project_row("STG-005", deployment_specialist="jsmith2")]
    assert http.post("/import-projects", json=batch(rows, batch_id="projects-day1-part-001"),
                     headers=auth).status_code == 200
    bad = [project_row("STG-006"), project_row("STG-007", residential="-3")]
    assert http.post("/import-projects", json=batch(bad, batch_id="projects-day2-part-001"),
                     headers=auth).status_code == 422
    for email, role in (("admin@example.com", "admin"), ("ops@example.com", "operator")):
        add_login(database_url, email, role)


def _signed_in(browser: Any, base: str, email: str, width: int) -> Watched:
    ui = Watched(browser, base, ARTIFACTS / "dead-ends", width=width)
    ui.sign_in(email)
    return ui


@pytest.mark.parametrize("width", WIDTHS)
def test_operator_reruns_a_batch_and_opens_its_projects(
        live_server: Any, sent: None, db: Any, browser: Any, width: int) -> None:
    ui = _signed_in(browser, live_server.url, "ops@example.com", width)
    page = ui.page
    page.goto(f"{live_server.url}/dashboard/imports?tenant=TELCO&status=200")
    page.locator("#imports-table tr.import a").first.click()
    page.wait_for_url("**/dashboard/imports/*")
    assert "This batch has not been re-run." in page.inner_text("#main")
    # the directory learns the DS the batch missed; the re-run resolves it
    db.execute("insert into ds_directory (tenant_id, preferred_username, display_name, "
               "active) values ('TELCO', 'jsmith2', 'J Smith', true)")
    page.get_by_role("button", name="Re-run this batch").click()
    page.wait_for_url("**/dashboard/imports/*?done=rerun*")
    assert "Batch re-run" in page.inner_text("#rerun-flash")
    assert page.locator("#reruns tbody tr").count() == 1
    assert page.locator("a[href='/docs']").count() == 1  # the API docs, from the navigation
    ui.shot(f"import-rerun-{width}")
    # what the batch wrote: its five projects, their memberships; the re-run's new DS
    # membership (STG-005's jsmith2) counts as the batch's, at the re-run's time
    assert page.locator("#changes-inserted li").count() == 5
    assert page.locator("#changes-changed li").count() == 0
    assert "deployment specialist: jsmith2" in page.inner_text("#changes-started")
    assert page.locator("#changes-ended li").count() == 0
    page.locator("#changes").scroll_into_view_if_needed()
    page.locator("#changes").screenshot(path=str(ui.artifacts / f"import-changes-{width}.png"))
    ui.shot(f"import-changes-page-{width}")

    # the project the batch's problem was about, from the import's problem list
    page.locator("#batch-problems a.project-link", has_text="STG-005").first.click()
    page.wait_for_url("**/dashboard/projects/TELCO/STG-005")
    assert page.inner_text("#project-key") == "STG-005"
    assert "jsmith2" in page.inner_text("#project-problems")
    assert "resolved" in page.inner_text("#project-problems")
    assert "projects-day1-part-001" in page.inner_text("#project-batches")
    ui.shot(f"project-with-problem-{width}")

    page.goto(f"{live_server.url}/dashboard/projects/TELCO/STG-001")
    assert page.locator("#no-problems").count() == 1
    assert page.locator("#members tr.member").count() >= 3
    ui.shot(f"project-without-problem-{width}")

    page.goto(f"{live_server.url}/dashboard/imports?tenant=TELCO&status=422")
    page.locator("#imports-table tr.import a").first.click()
    page.wait_for_url("**/dashboard/imports/*")
    assert page.locator("#reruns-title").count() == 0
    first = page.inner_text("#violations-first")
    assert "below zero negative" in first and "2\tresidential" in first  # row 2 of the file
    assert page.locator("#batch-problems").count() == 0  # it staged no batch
    ui.shot(f"import-refused-{width}")
    ui.assert_clean()
    ui.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_resuming_lists_the_batches_to_resend(
        live_server: Any, sent: None, http: Any, tenant: tuple[str, str], browser: Any,
        width: int) -> None:
    ui = _signed_in(browser, live_server.url, "admin@example.com", width)
    page = ui.page
    page.goto(f"{live_server.url}/dashboard/tenants")
    daily = page.inner_text("#tenant-TELCO .freshness-state")
    assert "next expected" in daily and "last expected" not in daily
    telco = page.locator("#tenant-TELCO")
    telco.get_by_label("Reason for pausing TELCO").fill("partner names broken, INC-4711")
    telco.get_by_role("button", name="Pause imports").click()
    page.wait_for_url("**/dashboard/tenants?done=paused%3ATELCO")
    auth = {"Authorization": f"Bearer {tenant[1]}"}
    for day in (3, 4):
        refused = http.post("/import-projects", headers=auth, json=batch(
            [project_row("STG-001")], batch_id=f"projects-day{day}-part-001"))
        assert refused.status_code == 423
    page.get_by_role("button", name="Resume imports of TELCO").click()
    page.wait_for_url("**/dashboard/tenants?done=resumed%3ATELCO")
    assert "Re-send needed: 2 batches" in page.inner_text("#resend-title")
    assert page.locator("#resend-list .upstream").all_inner_texts() == [
        "projects-day3-part-001", "projects-day4-part-001"]
    ui.shot(f"tenants-resend-{width}")
    ui.assert_clean()
    ui.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_overview_charts_on_the_tenant_s_clock_fit_the_screen(
        live_server: Any, sent: None, browser: Any, width: int) -> None:
    ui = _signed_in(browser, live_server.url, "ops@example.com", width)
    page = ui.page
    page.goto(f"{live_server.url}/dashboard?days=7")
    assert "every tenant, times in UTC" in page.inner_text("#charts-zone")
    ui.shot(f"overview-all-{width}")
    page.locator("#chart-tenants a", has_text="TELCO").click()
    page.wait_for_url("**/dashboard?days=7&tenant=TELCO")
    assert "TELCO on its clock (Australia/Adelaide)" in page.inner_text("#charts-zone")
    tips = page.locator("#chart-success-rate title").evaluate_all(
        "nodes => nodes.map(node => node.textContent)")
    days = [tip for tip in tips if "import requests" in tip]
    assert len(days) == 7 and all("(Australia/Adelaide)" in tip for tip in days), tips
    ui.shot(f"overview-telco-{width}")
    ui.assert_clean()
    ui.close()
