"""Issue 19's scenario in a real headless Chromium: one tenant with directories, five daily
batches of 300 rows sent with `send`, 20 bad rows a day ("Fulton Hogen" in 8 projects, DS
"jsmith2" in 7, RM "Jane Doh" in 5); then the worklist by cause, a bulk acknowledge that
includes a resolved problem, the directory fix of a cause with its preview and undo, the
Overview beside the worklist, and the viewer; at 1366 px and at 390 px.

Full-page screenshots go to `test-artifacts/causes/` (git-ignored).
"""

from __future__ import annotations

import csv
import re
from typing import Any

import pytest

from tests.support import PASSWORD, add_login, cli_env, project_row, run_cli
from tests.support.pages import ARTIFACTS, BROWSER_TESTS, Watched

ADMIN, VIEWER = "admin@example.com", "viewer@example.com"
BAD = {"Fulton Hogen": ("delivery_partner", range(0, 8)),
       "jsmith2": ("deployment_specialist", range(10, 17)),
       "Jane Doh": ("relationship_manager", range(20, 25))}

pytestmark = BROWSER_TESTS


@pytest.fixture
def five_days(live_server, database_url, tenant, directories, tmp_path) -> list[str]:
    """Five daily exports of the same 300 projects sent with `send`, 20 bad rows each."""
    env = cli_env(tmp_path / "home", database_url, PROJECTS_IMPORT_BEARER=tenant[1])
    sent = []
    for day in range(1, 6):
        rows = [project_row(f"STG-{i:06d}", residential=str(40 + day)) for i in range(300)]
        for value, (column, indexes) in BAD.items():
            for i in indexes:
                rows[i][column] = value
        file = tmp_path / f"projects-day{day}.csv"
        with file.open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        batch_id = f"projects-day{day}-2026-12-0{day}"
        result = run_cli(env, "send", str(file), "--url", live_server.url, "--tenant", "TELCO",
                         "--batch-id", batch_id, "--min-interval", "0", timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        sent.append(batch_id)
    add_login(database_url, ADMIN, "admin")
    add_login(database_url, VIEWER, "viewer")
    return sent


def causes(page: Any) -> dict[str, dict[str, int]]:
    """The worklist's causes: {value: their problems, projects and occurrences}."""
    found = {}
    for row in page.locator("tr.cause").all():
        found[row.get_attribute("data-value") or ""] = {
            name: int(row.get_attribute(f"data-{name}") or -1)
            for name in ("problems", "projects", "occurrences")}
    return found


def test_an_operator_works_by_cause_at_1366_and_390(live_server, five_days, browser,
                                                    db) -> None:
    for width in (1366, 390):
        walk(Watched(browser, live_server.url, ARTIFACTS / "causes", width=width), five_days,
             db, first=width == 1366)


def walk(ui: Watched, days: list[str], db: Any, *, first: bool) -> None:
    page = ui.page
    ui.sign_in(ADMIN)

    # 1. the worklist lands on causes: 20 problems are 3 causes, with their reach
    if first:
        assert causes(page) == {
            "Fulton Hogen": {"problems": 8, "projects": 8, "occurrences": 40},
            "jsmith2": {"problems": 7, "projects": 7, "occurrences": 35},
            "Jane Doh": {"problems": 5, "projects": 5, "occurrences": 25}}
        assert page.inner_text("#cause-problems") == "20"
    fulton = page.locator("tr.cause[data-value='Fulton Hogen']")
    assert days[0] in fulton.locator("a.batch").inner_text()  # the first batch, linked
    ui.shot(f"causes-{ui.width}")

    # 2. back to the batch: the first-seen link opens the import that staged it
    fulton.locator("a.batch").click()
    page.wait_for_url("**/dashboard/imports/*")
    assert days[0] in page.inner_text("main")
    ui.shot(f"first-batch-import-{ui.width}")

    # 3. the Overview's counts are the worklist's
    page.goto(f"{ui.base}/dashboard")
    tile = page.locator(".tile.glance[data-tenant='TELCO']")
    page.goto(f"{ui.base}/dashboard/problems?tenant=TELCO")
    worklist_open = int(page.inner_text("#cause-problems"))
    page.goto(f"{ui.base}/dashboard")
    assert int(tile.locator("a.open").inner_text()) == worklist_open
    assert not page.locator("#recent-details").get_attribute("open")  # raw rows collapsed
    ui.shot(f"overview-{ui.width}")

    # 4. bulk acknowledge of a selection with a resolved problem in it: acts on the rest
    if first:
        page.goto(f"{ui.base}/dashboard/problems")
        page.locator("tr.cause[data-value='Jane Doh'] a.projects").click()
        page.wait_for_url("**view=problems**")
        assert page.locator("tr.problem").count() == 5
        one = page.locator("tr.problem").first.get_attribute("data-id")
        db.execute("select set_config('request.jwt.claims', '{\"sub\": \"someone\", "
                   "\"role\": \"authenticated\", \"app_metadata\": {\"role\": \"admin\"}}', "
                   "false)")
        db.execute("select fn_problem_set_status(%s, 'resolved')", [int(one or 0)])
        page.select_option("#f-status", "all")
        page.click("#filters button[type=submit]")
        page.check("input[data-select-all]")
        page.fill("#bulk-note", "asked the RM team")
        page.click("button[value=acknowledge]")
        assert page.inner_text("#result-changed") == "4"
        assert page.inner_text("#result-skipped") == "1"
        assert "skipped, already resolved" in page.inner_text("#skipped")
        assert page.input_value("#bulk-note") == "asked the RM team"
        assert page.locator("input[name=id]:checked").count() == 5  # the selection stays
        ui.shot(f"bulk-result-{ui.width}")

    # 5. the directory fix of a cause: preview, apply (the same), undo (as before)
    before = db.execute("select id, status, resolved_by from import_problems order by id"
                        ).fetchall()
    page.goto(f"{ui.base}/dashboard/problems")
    fulton.locator("summary").click()
    fulton.locator("text=Fix in directory…").click()
    page.wait_for_url("**/dashboard/problems/groups/fix?*")
    page.click("#suggestions a:has-text('Fulton Hogan Pty Ltd')")
    page.wait_for_selector("#preview")
    previewed = page.locator("#effect-problem-list li").evaluate_all(
        "items => items.map(i => i.dataset.id)")
    previewed_projects = page.locator("tr.project-change").evaluate_all(
        "rows => rows.map(r => r.dataset.key)")
    assert len(previewed) == 8 and len(previewed_projects) == 8
    ui.shot(f"fix-preview-{ui.width}")
    page.click("#apply button[type=submit]")
    page.wait_for_selector("#fix-done")
    assert page.locator("#effect-problem-list li").evaluate_all(
        "items => items.map(i => i.dataset.id)") == previewed
    assert page.locator("tr.project-change").evaluate_all(
        "rows => rows.map(r => r.dataset.key)") == previewed_projects
    resolved = db.execute("select id, resolved_by from import_problems where status = "
                          "'resolved' and resolution = 'directory_fix' order by id").fetchall()
    assert [str(r["id"]) for r in resolved] == previewed
    assert {r["resolved_by"] for r in resolved} == {ADMIN}  # the fix's author, not "system"
    ui.shot(f"fix-done-{ui.width}")
    page.click("#undo button")
    page.wait_for_selector("#undo-done")
    assert page.inner_text("#reopened") == "8"
    assert db.execute("select id, status, resolved_by from import_problems order by id"
                      ).fetchall() == before
    ui.shot(f"fix-undone-{ui.width}")

    # 6. the viewer is refused (the browser logs the 403 it was answered)
    assert ui.errors == [] and ui.foreign == []
    page.click("form.logout button")
    page.goto(f"{ui.base}/login")
    page.fill("#email", VIEWER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    assert "Access denied" in page.inner_text("main")
    assert re.search(r"403|denied", page.content(), re.IGNORECASE)
    ui.errors = [e for e in ui.errors if "403 (Forbidden)" not in e]
    ui.assert_clean()
    ui.close()
