"""Held batches in a real headless Chromium (SPEC §10): an admin finds a held batch on the
imports page with its findings, opens the diff (old → new, paged), and publishes it; another
held batch is rejected with a reason. Full-page screenshots go to test-artifacts/held-batches/.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import add_login, batch, project_row
from tests.support.pages import ARTIFACTS, BROWSER_TESTS, Watched

pytestmark = BROWSER_TESTS

PROJECTS = 150


def _rows(**overrides: Any) -> list[dict[str, Any]]:
    return [project_row(f"SA-{i:04d}", **overrides) for i in range(PROJECTS)]


@pytest.fixture
def held(http: Any, tenant: tuple[str, str], directories: None) -> None:
    """TELCO with 150 projects, then two shifted exports (every RM blank), both held."""
    auth = {"Authorization": f"Bearer {tenant[1]}"}
    assert http.post("/import-projects", json=batch(_rows(), batch_id="day-1"),
                     headers=auth).status_code == 200
    for name, partner in (("day-2", "Fulton Hogan"), ("day-3", "Downer")):
        answer = http.post("/import-projects", headers=auth, json=batch(
            _rows(relationship_manager="", delivery_partner=partner), batch_id=name))
        assert answer.status_code == 202, answer.text


def test_admin_reviews_the_diff_then_publishes_and_rejects(
        live_server: Any, database_url: str, held: None, db: Any, browser: Any) -> None:
    add_login(database_url, "admin@example.com", "admin")
    ui = Watched(browser, live_server.url, ARTIFACTS / "held-batches", width=1366)
    page = ui.page
    ui.sign_in("admin@example.com")

    page.goto(f"{live_server.url}/dashboard/imports")
    held_rows = page.locator("#held-table tr.held-batch")
    assert held_rows.count() == 2
    findings = page.inner_text("#held-table")
    assert "max_ended_share 33% > 20%" in findings and "max_changed_share 100% > 50%" in findings
    assert "held" in page.inner_text("#freshness-table")
    ui.shot("imports-held")

    # the older one (day-2: RMs blank) is published
    held_rows.nth(1).get_by_role("link").click()
    page.wait_for_url("**/dashboard/imports/*")
    assert page.inner_text("#batch-state") == "held"
    assert "max_ended_share" in page.inner_text("#findings")
    counts = page.inner_text("#diff-counts")
    assert f"{PROJECTS} projects change" in counts and f"{PROJECTS} memberships end" in counts
    assert page.locator("#diff tr.diff-project").count() == 50
    first = page.locator("#diff tr.diff-project").first
    assert "relationship_manager: First Last \u2192 \u2013" in first.inner_text()
    assert "ends relationship_manager:flast" in first.inner_text()
    ui.shot("held-diff-page-1")
    page.get_by_role("link", name="next →").click()
    page.wait_for_url("**page=2*")
    assert "page 2 of 3" in page.inner_text("#diff-pager")
    ui.shot("held-diff-page-2")
    before = db.execute("select count(*) as n from vw_project_members").fetchone()["n"]
    page.get_by_role("button", name="Publish this batch").click()
    page.wait_for_url("**done=published*")
    assert page.inner_text("#batch-state") == "published"
    decisions = page.inner_text("#decisions")
    assert "published" in decisions and "held" in decisions
    assert db.execute("select count(*) as n from vw_project_members").fetchone()["n"] == (
        before - PROJECTS)
    ui.shot("held-published")

    # the newer one (day-3) is rejected with a reason
    page.goto(f"{live_server.url}/dashboard/imports")
    assert page.locator("#held-table tr.held-batch").count() == 1
    page.locator("#held-table tr.held-batch").first.get_by_role("link").click()
    page.wait_for_url("**/dashboard/imports/*")
    page.fill("#reject-reason", "RM column exported empty, INC-4711")
    page.get_by_role("button", name="Reject this batch").click()
    page.wait_for_url("**done=rejected*")
    assert page.inner_text("#batch-state") == "rejected"
    assert "RM column exported empty, INC-4711" in page.inner_text("#decisions")
    ui.shot("held-rejected")
    partners = db.execute("select count(*) as n from projects where partner_org = 'Downer Group'"
                          ).fetchone()["n"]
    assert partners == 0
    page.goto(f"{live_server.url}/dashboard/imports")
    assert page.locator("#held-table").count() == 0
    ui.assert_clean()
    ui.close()
