"""The worklist by cause over real HTTP: the causes view, acting on a whole cause, and the
directory fix of a cause with its preview, its author and its undo (issue 19)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support import PASSWORD, add_login, batch, csrf_of, project_row, submit

DAY1 = "projects-day1-2026-12-01-part-001"


@pytest.fixture
def login(live_server, database_url) -> Iterator[Callable[[str], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(role: str) -> httpx.Client:
        email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
        add_login(database_url, email, role)
        client = httpx.Client(base_url=live_server.url, timeout=30,
                              headers={"Origin": live_server.url})
        assert client.post("/login", data={"email": email, "password": PASSWORD}
                           ).status_code == 303
        client.email = email  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def causes(database_url, tenant, directories, live_server, http) -> None:
    """Through the service, so each batch has its import request: "Fulton Hogen" in 4
    projects (one of them twice), DS "jsmith2" in 2, RM "Jane Doh" in 1."""
    bearer = {"Authorization": f"Bearer {tenant[1]}"}
    day1 = [project_row(f"P{i}", delivery_partner="Fulton Hogen") for i in range(1, 5)]
    day1 += [project_row("P5", deployment_specialist="jsmith2"),
             project_row("P6", deployment_specialist="jsmith2"),
             project_row("P7", relationship_manager="Jane Doh"), project_row("P8")]
    assert http.post("/import-projects", json=batch(day1, batch_id=DAY1),
                     headers=bearer).status_code == 200
    day2 = [project_row("P1", delivery_partner="Fulton Hogen")]
    submit(database_url, batch(day2, batch_id="projects-day2-part-001"))


def cause_rows(page: str) -> dict[str, dict[str, int]]:
    rows = re.findall(r'<tr class="cause" data-tenant="[^"]+" data-type="([^"]+)" '
                      r'data-value="([^"]+)" data-problems="(\d+)" data-projects="(\d+)" '
                      r'data-occurrences="(\d+)">', page)
    return {value: {"problems": int(p), "projects": int(j), "occurrences": int(o)}
            for _, value, p, j, o in rows}


def test_the_worklist_lands_on_causes_with_their_figures_and_first_batch(
        login, causes) -> None:
    page = login("operator").get("/dashboard/problems")
    assert page.status_code == 200
    found = cause_rows(page.text)
    assert found == {"Fulton Hogen": {"problems": 4, "projects": 4, "occurrences": 5},
                     "jsmith2": {"problems": 2, "projects": 2, "occurrences": 2},
                     "Jane Doh": {"problems": 1, "projects": 1, "occurrences": 1}}
    assert '<span id="cause-count">3</span> causes, <span id="cause-problems">7</span>' in (
        page.text)
    # the batch that first saw it, by its upstream id, linked to its import
    assert re.search(rf'<a class="batch mono small" href="/dashboard/imports/\d+">{DAY1}</a>',
                     page.text)
    assert "Unknown delivery partner <small class=\"code\">UNKNOWN_DELIVERY_PARTNER</small>" in (
        page.text)
    # one click to the cause's problems, one by one
    link = re.search(r'<a class="projects" href="(/dashboard/problems\?view=problems[^"]+)"',
                     page.text)
    assert link
    one_by_one = login("operator").get(link.group(1).replace("&amp;", "&"))
    assert one_by_one.status_code == 200 and one_by_one.text.count('<tr class="problem"') >= 1
    # an operator sees no directory fix; an admin does
    assert "Fix in directory" not in page.text
    assert "Fix in directory" in login("admin").get("/dashboard/problems").text


def test_acting_on_a_cause_acts_on_each_problem_that_can_and_says_what_it_skipped(
        login, causes, db) -> None:
    client = login("operator")
    csrf = csrf_of(client.get("/dashboard/problems").text)
    one = db.execute("select id from import_problems where project_key = 'P5'").fetchone()["id"]
    form = {"csrf": csrf, "back": "", "tenant": "TELCO", "type": "UNKNOWN_DS",
            "value": "jsmith2", "note": "typo upstream"}
    client.post("/dashboard/problems/status", data={"csrf": csrf, "action": "acknowledge",
                                                    "id": str(one)})
    answer = client.post("/dashboard/problems/groups/status",
                         data={**form, "action": "acknowledge"})
    assert answer.status_code == 200
    assert '<strong id="result-changed">1</strong> problem acknowledged' in answer.text
    assert re.search(rf'<li data-id="{one}">.*: skipped, already acknowledged</li>',
                     answer.text)
    assert '<q id="result-note">typo upstream</q>' in answer.text
    rows = db.execute("select status, note from import_problems where unknown_value = "
                      "'jsmith2' order by id").fetchall()
    assert [r["status"] for r in rows] == ["acknowledged", "acknowledged"]
    assert rows[1]["note"] == "typo upstream"
    # acknowledged causes stay listed (open by default means not yet acknowledged) elsewhere
    unresolved = client.get("/dashboard/problems?status=unresolved").text
    assert cause_rows(unresolved)["jsmith2"]["problems"] == 2
    assert 'disabled title="no open problem to acknowledge"' in unresolved
    resolved = client.post("/dashboard/problems/groups/status",
                           data={**form, "action": "resolve", "back": "status=unresolved"})
    assert '<strong id="result-changed">2</strong> problems resolved' in resolved.text
    assert "jsmith2" not in cause_rows(resolved.text)


def test_the_fix_preview_is_what_the_fix_does_and_undo_restores(login, causes, db) -> None:
    admin = login("admin")
    before = {r["id"]: r for r in db.execute(
        "select id, status, resolved_by, acknowledged_at from import_problems").fetchall()}
    projects_before = db.execute("select stage_application, partner_org from projects "
                                 "order by 1").fetchall()
    query = {"tenant": "TELCO", "type": "UNKNOWN_DELIVERY_PARTNER", "value": "Fulton Hogen"}
    choose = admin.get("/dashboard/problems/groups/fix", params=query)
    assert choose.status_code == 200 and "Fulton Hogan Pty Ltd" in choose.text  # suggested
    preview = admin.get("/dashboard/problems/groups/fix",
                        params={**query, "canonical": "Fulton Hogan Pty Ltd"})
    assert preview.status_code == 200
    previewed_problems = re.findall(r'<li data-id="(\d+)">', preview.text)
    previewed_projects = re.findall(r'<tr class="project-change" data-key="([^"]+)">',
                                    preview.text)
    assert len(previewed_problems) == 4 and sorted(previewed_projects) == ["P1", "P2", "P3",
                                                                            "P4"]
    assert "— → <strong>Fulton Hogan Pty Ltd</strong>" in preview.text
    # a preview changes nothing
    assert db.execute("select count(*) from import_problems where status = 'resolved'"
                      ).fetchone()["count"] == 0
    assert db.execute("select count(*) from directory_changes").fetchone()["count"] == 0

    applied = admin.post("/dashboard/problems/groups/fix", data={
        **query, "canonical": "Fulton Hogan Pty Ltd", "csrf": csrf_of(preview.text)})
    assert applied.status_code == 200
    assert re.findall(r'<li data-id="(\d+)">', applied.text) == previewed_problems
    assert re.findall(r'<tr class="project-change" data-key="([^"]+)">', applied.text) == (
        previewed_projects)
    resolved = db.execute("select id, resolved_by, note from import_problems "
                          "where status = 'resolved' order by id").fetchall()
    assert [str(r["id"]) for r in resolved] == previewed_problems
    # the fix names its author and its cause, in the problem and its history
    assert {r["resolved_by"] for r in resolved} == {admin.email}  # type: ignore[attr-defined]
    change_id = int(re.search(r'<span id="change-id">(\d+)</span>', applied.text).group(1))
    assert {r["note"] for r in resolved} == {f"directory change #{change_id} (add partners)"}
    events = db.execute("select actor from import_problem_events where action = 'resolved'"
                        ).fetchall()
    assert {e["actor"] for e in events} == {admin.email}  # type: ignore[attr-defined]
    detail = admin.get(f"/dashboard/problems/{previewed_problems[0]}").text
    assert admin.email in detail  # type: ignore[attr-defined]

    undone = admin.post(f"/dashboard/directories/changes/{change_id}/undo", data={
        **query, "csrf": csrf_of(applied.text)})
    assert undone.status_code == 200
    assert '<strong id="reopened">4</strong> problems reopened' in undone.text
    after = {r["id"]: r for r in db.execute(
        "select id, status, resolved_by, acknowledged_at from import_problems").fetchall()}
    assert after == before
    assert db.execute("select stage_application, partner_org from projects order by 1"
                      ).fetchall() == projects_before
    assert db.execute("select count(*) from partner_normalization where alias = "
                      "'Fulton Hogen'").fetchone()["count"] == 0
    twice = admin.post(f"/dashboard/directories/changes/{change_id}/undo", data={
        **query, "csrf": csrf_of(applied.text)})
    assert twice.status_code == 409 and "already undone" in twice.text


def test_only_admins_fix_or_undo(login, causes) -> None:
    operator = login("operator")
    csrf = csrf_of(operator.get("/dashboard/problems").text)
    query = {"tenant": "TELCO", "type": "UNKNOWN_DELIVERY_PARTNER", "value": "Fulton Hogen"}
    assert operator.get("/dashboard/problems/groups/fix", params=query).status_code == 403
    refused: Any = operator.post("/dashboard/problems/groups/fix",
                                 data={**query, "canonical": "X", "csrf": csrf})
    assert refused.status_code == 403
    assert operator.post("/dashboard/directories/changes/1/undo",
                         data={"tenant": "TELCO", "csrf": csrf}).status_code == 403


def test_a_viewer_is_refused_causes_and_their_actions(login, causes, db) -> None:
    viewer = login("viewer")
    assert viewer.get("/dashboard/problems").status_code == 403
    csrf = csrf_of(viewer.get("/dashboard/problems").text)
    answer = viewer.post("/dashboard/problems/groups/status", data={
        "csrf": csrf, "tenant": "TELCO", "type": "UNKNOWN_DS", "value": "jsmith2",
        "action": "resolve"})
    assert answer.status_code == 403
    assert db.execute("select count(*) from import_problems where status <> 'open'"
                      ).fetchone()["count"] == 0


def test_every_occurrence_and_automatic_step_leads_to_its_import(login, http, tenant,
                                                                 directories, db) -> None:
    bearer = {"Authorization": f"Bearer {tenant[1]}"}
    day1 = [project_row("Q1", delivery_partner="Fulton Hogen"),
            project_row("Q2", deployment_specialist="jsmith2")]
    day2 = [project_row("Q1"), project_row("Q2", deployment_specialist="jsmith2")]
    imports = []
    for rows, batch_id in ((day1, "q-day1-part-001"), (day2, "q-day2-part-001")):
        assert http.post("/import-projects", json=batch(rows, batch_id=batch_id),
                         headers=bearer).status_code == 200
        imports.append(db.execute("select id from import_requests where request_batch_id = %s",
                                  [batch_id]).fetchone()["id"])
    client = login("operator")
    q1 = db.execute("select id from import_problems where project_key = 'Q1'").fetchone()["id"]
    detail = client.get(f"/dashboard/problems/{q1}").text
    # the occurrence links to its import by the upstream id, rows counted from 1 as in files
    assert (f'<a class="occurrence-import" href="/dashboard/imports/{imports[0]}">'
            "q-day1-part-001</a> row 1") in detail
    # the automatic resolution names the batch that fixed the data
    assert re.search(r"<strong>resolved</strong> \(fixed in the data <small class=\"code\">"
                     rf"data_fix</small>\) by batch <a class=\"event-batch\" "
                     rf"href=\"/dashboard/imports/{imports[1]}\">q-day2-part-001</a>", detail)
    first = client.get(f"/dashboard/imports/{imports[0]}").text
    assert re.findall(r'data-action="(\w+)"', first) == ["opened"]
    assert len(re.findall(r'<li data-id="\d+">', first.split('id="batch-problems"')[1])) == 2
    second = client.get(f"/dashboard/imports/{imports[1]}").text
    assert re.findall(r'data-action="(\w+)"', second) == ["resolved"]
    assert f'<li data-id="{q1}">' in second
