"""The console's worklist, fixes and directories in a real headless Chromium (issue 8).

Full-page screenshots go to `test-artifacts/console/` (git-ignored) for people to look at.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.support import add_login, batch, project_row, submit
from tests.support.pages import ARTIFACTS, BROWSER_TESTS, Watched

SHOTS = ARTIFACTS / "console"
ADMIN, OPERATOR = "admin@example.com", "ops@example.com"

pytestmark = BROWSER_TESTS


@pytest.fixture
def problems(database_url, tenant, directories) -> None:
    """Three days of batches with unknown partners, DSs and RMs, and two logins."""
    for day, extra in enumerate(([], [project_row("STG-000000000009",
                                                  delivery_partner="Downer Grp")], [])):
        submit(database_url, batch([
            project_row("STG-000000000001", delivery_partner="Fulton Hogen"),
            project_row("STG-000000000002", delivery_partner="fulton  hogen"),
            project_row("STG-000000000003", deployment_specialist="ds.secnd"),
            project_row("STG-000000000004", relationship_manager="Nobody Known"),
            project_row("STG-000000000005", delivery_partner="Acme <Civil> & Sons Pty Ltd "
                                                             "Infrastructure Division"),
            *[project_row(f"STG-00000000010{i}", deployment_specialist=f"ghost.{i}")
              for i in range(4)],
            project_row(f"STG-00000000020{day}"),  # each day's export differs
            *extra,
        ], batch_id=f"2025-08-{18 + day}T17:00:00+0930-batch-001"))
    add_login(database_url, ADMIN, "admin")
    add_login(database_url, OPERATOR, "operator")


def test_an_admin_filters_fixes_acknowledges_and_exports(live_server, problems,
                                                         browser) -> None:
    ui = Watched(browser, live_server.url, SHOTS, width=1366,
                 accept_downloads=True)
    page = ui.page
    ui.sign_in(ADMIN)
    assert page.inner_text("h1") == "Problems by cause"
    page.click("nav.tabs >> text=By problem")
    page.wait_for_url("**/dashboard/problems?view=problems")
    assert page.locator("tr.problem").count() == 10
    assert page.get_attribute("nav.sections a[aria-current=page]", "href") == "/dashboard/problems"
    ui.shot("worklist")

    page.select_option("#f-type", "UNKNOWN_DELIVERY_PARTNER")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**/dashboard/problems?view=problems&type=UNKNOWN_DELIVERY_PARTNER")
    assert page.locator("tr.problem").count() == 4
    assert "Acme <Civil> & Sons" in page.inner_text("#worklist")  # shown as text
    ui.shot("worklist-filtered")

    page.click("tr.problem:has-text('STG-000000000001') a")
    page.wait_for_url("**/dashboard/problems/*")
    assert page.locator("tr.occurrence").count() == 3
    assert page.inner_text("#unknown-value") == "Fulton Hogen"
    ui.shot("problem-detail")
    page.click("text=Map “Fulton Hogen” → “Fulton Hogan Pty Ltd”")
    page.wait_for_url("**/dashboard/problems/*?change=*")
    assert page.inner_text("#problems-resolved") == "2"
    assert page.inner_text("#status") == "resolved"
    ui.shot("problem-fixed")

    page.click("nav.sections >> text=Problems")
    page.wait_for_url(f"{live_server.url}/dashboard/problems")
    page.click("nav.tabs >> text=By problem")
    assert page.locator("tr.problem").count() == 8
    assert "Fulton Hogen" not in page.inner_text("#worklist")

    page.fill("#f-q", "ghost")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**/dashboard/problems?view=problems&q=ghost")
    assert page.locator("tr.problem").count() == 4
    page.check("input[data-select-all]")  # the script ticks every row
    assert page.locator("input[name=id]:checked").count() == 4
    page.fill("#bulk-note", "asked upstream about the ghost DSs")
    page.click("button[value=acknowledge]")
    page.wait_for_url("**/dashboard/problems/status")  # the worklist, saying what it did
    assert page.inner_text("#result-changed") == "4"
    assert "4 problems acknowledged" in page.inner_text("#action-result")
    assert page.locator("tr.problem").count() == 0  # open only, by default
    page.select_option("#f-status", "acknowledged")
    page.click("#filters button[type=submit]")
    assert page.locator("tr.problem").count() == 4

    with page.expect_download() as download:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert len(rows) == 4
    assert {r["status"] for r in rows} == {"acknowledged"}
    assert {r["unknown_value"] for r in rows} == {f"ghost.{i}" for i in range(4)}
    ui.shot("worklist-acknowledged")
    ui.assert_clean()
    ui.close()


def test_directories_and_their_change_history(live_server, problems, browser) -> None:
    ui = Watched(browser, live_server.url, SHOTS)
    page = ui.page
    ui.sign_in(ADMIN)
    page.click("nav.sections >> text=Directories")
    page.click("nav.tabs >> text=Deployment specialists")
    assert page.locator("tr.entry").count() == 3
    page.fill("#a-username", "ghost.0")
    page.fill("#a-display", "Gus Host")
    page.click("#add-entry button[type=submit]")
    page.wait_for_url("**/dashboard/directories?*change=*")
    assert "1 problem resolved" in page.inner_text("#change-result")
    ui.shot("directories")
    page.click("text=Change history")
    assert page.locator("tr.change").count() == 1
    assert ADMIN in page.inner_text("#changes")
    ui.shot("directory-changes")
    ui.assert_clean()
    ui.close()


@pytest.mark.parametrize("email", [OPERATOR])
def test_the_console_fits_a_390px_phone(live_server, problems, browser, email) -> None:
    ui = Watched(browser, live_server.url, SHOTS, width=390)
    page = ui.page
    ui.sign_in(email)
    ui.shot("phone-worklist")
    page.click("nav.tabs >> text=By problem")
    page.click("tr.problem:has-text('STG-000000000005') a")
    page.wait_for_url("**/dashboard/problems/*")
    ui.shot("phone-problem-detail")
    for path, name in (("/dashboard/directories", "phone-directories"),
                       ("/dashboard/directories/changes", "phone-directory-changes"),
                       ("/dashboard", "phone-overview")):
        page.goto(f"{live_server.url}{path}")
        ui.shot(name)
    ui.assert_clean()
    ui.close()


def test_keyboard_users_see_where_focus_is(live_server, problems, browser) -> None:
    ui = Watched(browser, live_server.url, SHOTS)
    page = ui.page
    ui.sign_in(OPERATOR)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    box = page.locator("a.skip").bounding_box()
    assert box is not None and box["x"] >= 0  # the skip link shows itself on focus
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    for _ in range(12):
        page.keyboard.press("Tab")
        style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert style != "none", page.evaluate("document.activeElement.outerHTML")
    labelled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select')]
        .filter(e => !e.labels?.length && !e.getAttribute('aria-label') && !e.hidden)
        .map(e => e.outerHTML)""")
    assert labelled == []
    ui.assert_clean()
    ui.close()
