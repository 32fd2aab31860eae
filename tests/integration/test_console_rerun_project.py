"""The console's dead ends, over real HTTP: re-running a batch from its import's page (operators
and admins; viewers refused; held and rejected batches refused as by the CLI), a refused
import's page without a re-run section, and the page of a project with or without a problem."""

from __future__ import annotations

import re
from typing import Any

import httpx
import psycopg
import pytest

from tests.integration.test_console_imports_tenants import (
    ADMIN,
    OPERATOR,
    VIEWER,
    client_as,
)
from tests.support import add_login, batch, csrf_of, project_row


@pytest.fixture
def logins(database_url: str) -> None:
    for email, role in ((ADMIN, "admin"), (OPERATOR, "operator"), (VIEWER, "viewer")):
        add_login(database_url, email, role)


@pytest.fixture
def imported(http: httpx.Client, tenant: tuple[str, str], directories: None,
             db: psycopg.Connection[Any]) -> dict[str, int]:
    """A merged batch (STG-1 resolves fully, STG-2's DS "ghost" is unknown) and a 422."""
    auth = {"Authorization": f"Bearer {tenant[1]}"}
    ok = http.post("/import-projects", json=batch(
        [project_row("STG-1"), project_row("STG-2", deployment_specialist="ghost")],
        batch_id="nightly-001"), headers=auth)
    assert ok.status_code == 200
    bad = http.post("/import-projects", json=batch([project_row("")], batch_id="nightly-002"),
                    headers=auth)
    assert bad.status_code == 422
    ids = {row["status"]: row["id"] for row in
           db.execute("select id, status from import_requests").fetchall()}
    return {"merged": ids[200], "refused": ids[422]}


def _reruns(db: psycopg.Connection[Any]) -> int:
    row = db.execute("select jsonb_array_length(coalesce(validation -> 'reruns', '[]'))"
                     " as n from staging_imports").fetchone()
    assert row is not None
    return int(row["n"])


def test_an_operator_reruns_a_batch_from_its_import_page(
        live_server: Any, logins: None, imported: dict[str, int],
        db: psycopg.Connection[Any]) -> None:
    origin = {"Origin": live_server.url}
    merged = imported["merged"]
    # the directory learns the DS: a re-run resolves STG-2 with today's directories
    db.execute("insert into ds_directory (tenant_id, preferred_username, display_name, active)"
               " values ('TELCO', 'ghost', 'Ghost Writer', true)")
    with client_as(live_server, OPERATOR) as ops:
        page = ops.get(f"/dashboard/imports/{merged}").text
        assert 'id="rerun-form"' in page and "This batch has not been re-run." in page
        assert "rerun --batch nightly-001 --tenant TELCO" in page
        forged = ops.post(f"/dashboard/imports/{merged}/rerun", data={"csrf": "0" * 64},
                          headers=origin)
        assert forged.status_code == 403 and _reruns(db) == 0
        done = ops.post(f"/dashboard/imports/{merged}/rerun",
                        data={"csrf": csrf_of(page)}, headers=origin)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/dashboard/imports/{merged}?done=rerun#reruns-title"
        after = ops.get(done.headers["location"].split("#")[0]).text
    assert _reruns(db) == 1
    assert 'id="rerun-flash"' in after
    table = after.split('id="reruns"')[1].split("</table>")[0]
    assert len(re.findall(r"<tr>", table)) == 1 + 1  # header row and the one re-run
    problem = db.execute("select status, resolution from import_problems"
                         " where project_key = 'STG-2'").fetchone()
    assert problem == {"status": "resolved", "resolution": "directory_fix"}


def test_viewers_may_not_rerun_and_held_or_rejected_batches_are_refused(
        live_server: Any, logins: None, imported: dict[str, int],
        db: psycopg.Connection[Any]) -> None:
    origin = {"Origin": live_server.url}
    merged = imported["merged"]
    with client_as(live_server, VIEWER) as viewer:
        csrf = csrf_of(viewer.get("/dashboard/imports").text)
        refused = viewer.post(f"/dashboard/imports/{merged}/rerun", data={"csrf": csrf},
                              headers=origin)
        assert refused.status_code == 403 and "Access denied" in refused.text
    assert _reruns(db) == 0
    for state in ("held", "rejected"):
        db.execute("update staging_imports set batch_state = %s", (state,))
        with client_as(live_server, ADMIN) as admin:
            page = admin.get(f"/dashboard/imports/{merged}").text
            assert 'id="rerun-form"' not in page and 'id="rerun-refused"' in page
            answer = admin.post(f"/dashboard/imports/{merged}/rerun",
                                data={"csrf": csrf_of(page)}, headers=origin)
            assert answer.status_code == 409
            assert f"is {state}" in answer.text and "never rerun it" in answer.text
        assert _reruns(db) == 0
    with client_as(live_server, OPERATOR) as ops:
        csrf = csrf_of(ops.get("/dashboard/imports").text)
        nothing = ops.post(f"/dashboard/imports/{imported['refused']}/rerun",
                           data={"csrf": csrf}, headers=origin)
        assert nothing.status_code == 409 and "staged no batch" in nothing.text
        missing = ops.post("/dashboard/imports/999999/rerun", data={"csrf": csrf},
                           headers=origin)
        assert missing.status_code == 404


def test_a_refused_import_page_has_no_rerun_section(
        live_server: Any, logins: None, imported: dict[str, int]) -> None:
    with client_as(live_server, OPERATOR) as ops:
        page = ops.get(f"/dashboard/imports/{imported['refused']}").text
    assert 'id="violations-first"' in page
    assert "reruns-title" not in page and "re-run" not in page
    # rows are numbered from 1 as in the file: the only row of the batch is row 1
    first = page.split('id="violations-first"')[1].split("</table>")[0]
    assert re.search(r'<td class="num">1</td><td>stage_application</td>', first), first


def test_a_project_page_with_and_without_problems(
        live_server: Any, logins: None, imported: dict[str, int]) -> None:
    with client_as(live_server, OPERATOR) as ops:
        clean = ops.get("/dashboard/projects/TELCO/STG-1")
        assert clean.status_code == 200, clean.text
        html = clean.text
        assert 'id="no-problems"' in html and "Fulton Hogan Pty Ltd" in html
        members = re.findall(r'<tr class="member">', html)
        assert len(members) >= 2  # the partner organisation, the DS and the RM resolved
        assert f'href="/dashboard/imports/{imported["merged"]}" class="upstream">nightly-001' \
            in html and "last merged" in html

        troubled = ops.get("/dashboard/projects/TELCO/STG-2").text
        assert 'id="project-problems"' in troubled and "“ghost”" in troubled
        problem_id = re.search(r'<tr data-id="(\d+)">', troubled)
        assert problem_id
        # the problem's page and the worklist link to the project
        detail = ops.get(f"/dashboard/problems/{problem_id.group(1)}").text
        assert 'href="/dashboard/projects/TELCO/STG-2"' in detail
        worklist = ops.get("/dashboard/problems", params={"view": "problems"}).text
        assert 'href="/dashboard/projects/TELCO/STG-2"' in worklist

        missing = ops.get("/dashboard/projects/TELCO/NOPE-1")
        assert missing.status_code == 404 and "no project &#39;NOPE-1&#39;" in missing.text
        assert ops.get("/dashboard/projects/bad%20tenant/STG-1").status_code == 404
        assert 'href="/docs"' in html  # the console's navigation leads to the API docs
    with client_as(live_server, VIEWER) as viewer:
        refused = viewer.get("/dashboard/projects/TELCO/STG-1")
        assert refused.status_code == 403 and "Fulton Hogan" not in refused.text
