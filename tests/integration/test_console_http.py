"""The console's worklist, problem detail and directory pages over real HTTP (issue 8)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import psycopg
import pytest

from tests.support import PASSWORD, add_login, as_user, batch, csrf_of, project_row, submit

UPSTREAM_BATCH = "2025-08-18T17:00:00+0930-batch-001"


@pytest.fixture
def login(live_server, database_url) -> Iterator[Callable[[str], httpx.Client]]:
    """Factory: a signed-in client of its own for a new login with this role."""
    clients: list[httpx.Client] = []

    def make(role: str) -> httpx.Client:
        email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
        add_login(database_url, email, role)
        client = httpx.Client(base_url=live_server.url, timeout=30,
                              headers={"Origin": live_server.url})
        answer = client.post("/login", data={"email": email, "password": PASSWORD})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/dashboard/problems"
        client.email = email  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def problems(database_url, tenant, directories, db) -> dict[str, int]:
    """Problems of TELCO from two batches: four unknown partners, one DS, one RM; one of the
    partners is a formula, one problem is resolved. Returns problem ids by project key+type."""
    submit(database_url, batch([
        project_row("STG-1", delivery_partner="Fulton Hogen"),
        project_row("STG-2", delivery_partner="fulton  hogen"),
        project_row("STG-3", deployment_specialist="ghost.ds"),
        project_row("STG-4", relationship_manager="Nobody Known"),
        project_row("STG-5", delivery_partner="=HYPERLINK(\"http://x\")"),
    ], batch_id=UPSTREAM_BATCH))
    submit(database_url, batch([
        project_row("STG-1", delivery_partner="Fulton Hogen"),
        project_row("STG-6", delivery_partner="Acme Civil"),
    ], batch_id="second-batch"))
    db.execute("update import_problems set status = 'resolved', resolution = 'manual', "
               "resolved_at = now() where project_key = 'STG-6'")
    rows = db.execute("select id, project_key, anomaly_type from import_problems").fetchall()
    return {f"{r['project_key']}/{r['anomaly_type']}": r["id"] for r in rows}


def keys(page: str) -> list[str]:
    """The worklist's project keys (each links to the project's page)."""
    return re.findall(r'<td data-label="project" class="mono nowrap"><a class="project-link" '
                      r'href="/dashboard/projects/[^"]+">([^<]+)</a></td>', page)


def test_the_worklist_shows_open_problems_with_the_unknown_value_and_navigation(
        login, problems) -> None:
    client = login("operator")
    page = client.get("/dashboard/problems?view=problems")
    assert page.status_code == 200
    assert sorted(keys(page.text)) == ["STG-1", "STG-2", "STG-3", "STG-4", "STG-5"]
    assert '<td data-label="unknown value" class="value">Fulton Hogen</td>' in page.text
    assert '<a href="/dashboard/problems" aria-current="page">Problems</a>' in page.text
    for label in ("Imports", "Tenants", "Directories", "Overview", "Sign out"):
        assert label in page.text
    assert re.search(r'<time datetime="[^"]+\+00:00" title="[^"]+ UTC">[^<]+ AC[DS]T</time>',
                     page.text), "times are in the tenant's zone with UTC on hover"
    assert "badge due" in page.text or "badge overdue" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/dashboard").status_code == 200  # the Overview stays


@pytest.mark.parametrize(("query", "expected"), [
    ("type=UNKNOWN_DS", ["STG-3"]),
    ("severity=error", ["STG-3", "STG-4"]),
    ("status=all", ["STG-1", "STG-2", "STG-3", "STG-4", "STG-5", "STG-6"]),
    ("status=resolved", ["STG-6"]),
    ("tenant=OTHER", []),
    ("q=hogen", ["STG-1", "STG-2"]),
    ("q=stg-4", ["STG-4"]),
    ("batch=second-batch", ["STG-1"]),
    (f"batch={quote(UPSTREAM_BATCH)}&type=UNKNOWN_RM", ["STG-4"]),
    ("from=2000-01-01&to=2000-01-02", []),
    ("overdue=1&status=all", []),
    ("sort=project", ["STG-1", "STG-2", "STG-3", "STG-4", "STG-5"]),
    ("sort=occurrences&type=UNKNOWN_DELIVERY_PARTNER", ["STG-1"]),
])
def test_every_filter_narrows_the_worklist(login, problems, query, expected) -> None:
    page = login("operator").get(f"/dashboard/problems?view=problems&{query}")
    assert page.status_code == 200, page.text
    shown = keys(page.text)
    if query.startswith("sort="):
        assert shown[:len(expected)] == expected
    else:
        assert sorted(shown) == expected


@pytest.mark.parametrize(("query", "named"), [
    ("colour=red", "colour"), ("type=UNKNOWN_X", "type"), ("status=closed", "status"),
    ("from=2025-02-30", "from"), ("page=0", "page"), ("tenant=TELCO&tenant=X", "tenant"),
    ("sort=random", "sort"),
])
def test_a_bad_filter_is_a_400_naming_it(login, problems, query, named) -> None:
    page = login("operator").get(f"/dashboard/problems?{query}")
    assert page.status_code == 400
    assert named in page.text


@pytest.mark.parametrize(("path", "named"), [
    ("/dashboard/problems/groups/fix?tenant=TELCO&colour=red", "colour"),
    ("/dashboard/problems/groups/fix?tenant=TELCO&tenant=X", "tenant"),
    ("/dashboard/directories?colour=red", "colour"),
    ("/dashboard/directories?q=a&q=b", "more than once"),
    ("/dashboard/directories/changes?colour=red", "colour"),
    ("/dashboard/directories/changes?page=1&page=2", "more than once"),
])
def test_every_page_refuses_an_unknown_or_repeated_parameter_by_name(login, problems, path,
                                                                      named) -> None:
    """The worklist's rule (and the API's) on the fix and directory pages too."""
    page = login("admin").get(path)
    assert page.status_code == 400, page.text
    assert named in page.text


def test_pages_of_fifty(login, database_url, tenant, directories) -> None:
    submit(database_url, batch([project_row(f"STG-{i:03d}", deployment_specialist=f"x{i}")
                                for i in range(60)]))
    client = login("operator")
    first = client.get("/dashboard/problems?view=problems&sort=project")
    second = client.get("/dashboard/problems?view=problems&sort=project&page=2")
    assert len(keys(first.text)) == 50 and len(keys(second.text)) == 10
    assert set(keys(first.text)).isdisjoint(keys(second.text))
    assert "60 problems, page 1 of 2" in first.text
    assert ('href="/dashboard/problems?view=problems&amp;sort=project&amp;page=2" rel="next"'
            in first.text)


def test_csv_export_follows_the_filters_and_cannot_carry_a_formula(login, problems) -> None:
    client = login("operator")
    answer = client.get("/dashboard/problems.csv?type=UNKNOWN_DELIVERY_PARTNER")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert sorted(r["project_key"] for r in rows) == ["STG-1", "STG-2", "STG-5"]
    formula = next(r for r in rows if r["project_key"] == "STG-5")
    assert formula["unknown_value"] == "'=HYPERLINK(\"http://x\")"
    assert {r["anomaly_type"] for r in rows} == {"UNKNOWN_DELIVERY_PARTNER"}
    assert client.get("/dashboard/problems.csv?bogus=1").status_code == 400


def test_acknowledging_a_selection_records_who_in_one_step(login, problems, db) -> None:
    client = login("operator")
    page = client.get("/dashboard/problems?severity=error").text
    csrf = csrf_of(page)
    ids = [problems["STG-3/UNKNOWN_DS"], problems["STG-4/UNKNOWN_RM"]]
    form = {"csrf": csrf, "note": "on it", "back": "severity=error",
            "id": [str(i) for i in ids]}
    # refused: the same filtered worklist, one by one, saying why; note and selection kept
    refused = client.post("/dashboard/problems/status", data={**form, "action": "delete"})
    assert refused.status_code == 400 and "choose acknowledge or resolve" in refused.text
    assert '<input type="hidden" name="back" value="view=problems&amp;severity=error">' in (
        refused.text)
    assert 'id="bulk-note" name="note" maxlength="2000" value="on it"' in refused.text
    for problem_id in ids:
        assert f'value="{problem_id}" id="select-{problem_id}" checked' in refused.text
    answer = client.post("/dashboard/problems/status", data={**form, "action": "acknowledge"})
    assert answer.status_code == 200
    assert '<strong id="result-changed">2</strong> problems acknowledged.' in answer.text
    rows = db.execute("select status, acknowledged_by, note from import_problems "
                      "where id = any(%s)", (ids,)).fetchall()
    assert {(r["status"], r["acknowledged_by"], r["note"]) for r in rows} == {
        ("acknowledged", client.email, "on it")}  # type: ignore[attr-defined]


def test_a_selection_acts_on_what_it_can_and_says_what_it_skipped(login, problems,
                                                                  db) -> None:
    client = login("operator")
    csrf = csrf_of(client.get("/dashboard/problems").text)
    ids = [problems["STG-3/UNKNOWN_DS"], problems["STG-6/UNKNOWN_DELIVERY_PARTNER"]]
    answer = client.post("/dashboard/problems/status", data={
        "csrf": csrf, "action": "acknowledge", "note": "keep me", "id": [str(i) for i in ids]})
    assert answer.status_code == 200
    assert '<strong id="result-changed">1</strong> problem acknowledged' in answer.text
    assert re.search(rf'<li data-id="{ids[1]}">.*: skipped, already resolved</li>', answer.text)
    assert 'value="keep me"' in answer.text
    assert db.execute("select status from import_problems where id = %s",
                      (ids[0],)).fetchone()["status"] == "acknowledged"
    again = client.post("/dashboard/problems/status", data={
        "csrf": csrf, "action": "acknowledge", "id": str(ids[0])})
    assert re.search(rf'<li data-id="{ids[0]}">.*: skipped, already acknowledged</li>',
                     again.text), "acknowledging twice says so, not a silent 0"
    for data in ({"csrf": "0" * 64, "action": "resolve", "id": str(ids[0])},
                 {"csrf": csrf, "action": "delete", "id": str(ids[0])},
                 {"csrf": csrf, "action": "resolve"},
                 {"csrf": csrf, "action": "resolve", "id": "abc"}):
        refused = client.post("/dashboard/problems/status", data=data)
        assert refused.status_code in (400, 403), data
    assert db.execute("select count(*) as n from import_problems where status = 'open'"
                      ).fetchone()["n"] == 4


def test_the_detail_shows_occurrences_project_members_history_and_suggestions(
        login, problems) -> None:
    client = login("operator")
    problem_id = problems["STG-1/UNKNOWN_DELIVERY_PARTNER"]
    csrf = csrf_of(client.get("/dashboard/problems").text)
    client.post("/dashboard/problems/status", data={
        "csrf": csrf, "action": "acknowledge", "note": "checking", "id": str(problem_id),
        "return_to": str(problem_id)})
    page = client.get(f"/dashboard/problems/{problem_id}")
    assert page.status_code == 200
    assert page.text.count('<tr class="occurrence">') == 2
    assert "Fulton Hogen" in page.text and "STG-1" in page.text
    assert "PREFERRED_USERNAME" in page.text  # the project's memberships
    assert re.search(r"<strong>acknowledged</strong> by operator-", page.text)
    assert "checking" in page.text
    assert "Fulton Hogan Pty Ltd" in page.text  # suggested canonical partner
    assert "Map “Fulton Hogen”" not in page.text  # operators see suggestions, not the button
    assert client.get("/dashboard/problems/999999").status_code == 404
    assert client.get("/dashboard/problems/abc").status_code == 400


def test_an_admin_applies_a_suggested_mapping_and_the_problems_resolve(
        login, problems, db) -> None:
    client = login("admin")
    problem_id = problems["STG-1/UNKNOWN_DELIVERY_PARTNER"]
    page = client.get(f"/dashboard/problems/{problem_id}").text
    assert "Map “Fulton Hogen” → “Fulton Hogan Pty Ltd”" in page
    answer = client.post(f"/dashboard/problems/{problem_id}/fix", data={
        "csrf": csrf_of(page), "canonical": "Fulton Hogan Pty Ltd"})
    assert answer.status_code == 303
    assert re.fullmatch(rf"/dashboard/problems/{problem_id}\?change=\d+",
                        answer.headers["location"])
    shown = client.get(answer.headers["location"]).text
    assert re.search(r'<strong id="problems-resolved">2</strong> problems resolved', shown)
    resolved = db.execute("select project_key, resolution from import_problems "
                          "where status = 'resolved' and resolution = 'directory_fix' "
                          "order by project_key").fetchall()
    assert [r["project_key"] for r in resolved] == ["STG-1", "STG-2"]
    change = db.execute("select actor, action, directory, after, problem_id, effect "
                        "from directory_changes").fetchone()
    assert change["actor"] == client.email  # type: ignore[attr-defined]
    assert (change["action"], change["directory"], change["problem_id"]) == (
        "add", "partners", problem_id)
    assert change["after"] == {"alias": "Fulton Hogen", "canonical": "Fulton Hogan Pty Ltd"}
    history = client.get("/dashboard/directories/changes").text
    assert "Fulton Hogen" in history and f"(fix of #{problem_id})" in history
    assert "2 problems resolved" in history


def test_an_operator_cannot_apply_a_fix_or_edit_directories(login, problems, db) -> None:
    client = login("operator")
    csrf = csrf_of(client.get("/dashboard/directories").text)
    problem_id = problems["STG-1/UNKNOWN_DELIVERY_PARTNER"]
    for path, data in ((f"/dashboard/problems/{problem_id}/fix", {"canonical": "X"}),
                       ("/dashboard/directories", {"tenant": "TELCO", "directory": "partners",
                                                   "op": "set", "alias": "a",
                                                   "canonical": "b"})):
        answer = client.post(path, data={"csrf": csrf, **data})
        assert answer.status_code == 403
        assert "admin" in answer.text
    assert db.execute("select count(*) as n from directory_changes").fetchone()["n"] == 0
    assert "add-entry" not in client.get("/dashboard/directories").text


def test_directories_are_browsed_searched_added_and_deactivated(login, tenant, directories,
                                                               db) -> None:
    client = login("admin")
    page = client.get("/dashboard/directories?tenant=TELCO&directory=ds")
    assert page.status_code == 200
    assert page.text.count('<tr class="entry">') == 3
    found = client.get("/dashboard/directories?tenant=TELCO&directory=ds&q=sam")
    assert found.text.count('<tr class="entry">') == 1 and "ds.second" in found.text
    csrf = csrf_of(page.text)
    added = client.post("/dashboard/directories", data={
        "csrf": csrf, "tenant": "TELCO", "directory": "rm", "op": "set",
        "username": "rm.new", "display_name": "Rose Manager"})
    assert added.status_code == 303
    assert "directory=rm" in added.headers["location"] and "change=" in added.headers["location"]
    assert re.search(r"Added to relationship managers:\s+rm\.new",
                     client.get(added.headers["location"]).text)
    off = client.post("/dashboard/directories", data={
        "csrf": csrf, "tenant": "TELCO", "directory": "ds", "op": "deactivate",
        "username": "ds.second"})
    assert off.status_code == 303
    gone = client.post("/dashboard/directories", data={
        "csrf": csrf, "tenant": "TELCO", "directory": "partners", "op": "remove",
        "alias": "Downer"})
    assert gone.status_code == 303
    assert db.execute("select active from ds_directory where preferred_username = 'ds.second'"
                      ).fetchone()["active"] is False
    assert db.execute("select count(*) as n from partner_normalization").fetchone()["n"] == 1
    actions = [r["action"] for r in db.execute(
        "select action from directory_changes order by id").fetchall()]
    assert actions == ["add", "deactivate", "remove"]
    blank = client.post("/dashboard/directories", data={
        "csrf": csrf, "tenant": "TELCO", "directory": "partners", "op": "set",
        "alias": " ", "canonical": "x"})
    assert blank.status_code == 400 and "alias must not be blank" in blank.text
    unknown = client.post("/dashboard/directories", data={
        "csrf": csrf, "tenant": "NOPE", "directory": "partners", "op": "set",
        "alias": "a", "canonical": "x"})
    assert unknown.status_code == 404 and "no tenant NOPE" in unknown.text
    assert client.get("/dashboard/directories?tenant=NOPE").status_code == 404
    assert client.get("/dashboard/directories?directory=x").status_code == 400


def test_a_viewer_is_refused_every_page_and_write(login, problems, db) -> None:
    client = login("viewer")
    problem_id = problems["STG-1/UNKNOWN_DELIVERY_PARTNER"]
    for path in ("/dashboard/problems", "/dashboard/problems.csv",
                 f"/dashboard/problems/{problem_id}", "/dashboard/directories",
                 "/dashboard/directories/changes"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Access denied" in answer.text
    csrf = csrf_of(client.get("/dashboard/problems").text)
    for path, data in (("/dashboard/problems/status", {"action": "resolve",
                                                       "id": str(problem_id)}),
                       (f"/dashboard/problems/{problem_id}/fix", {"canonical": "X"}),
                       ("/dashboard/directories", {"tenant": "TELCO", "directory": "ds",
                                                   "op": "set", "username": "u"})):
        assert client.post(path, data={"csrf": csrf, **data}).status_code == 403, path
    assert db.execute("select count(*) as n from import_problems where status = 'open'"
                      ).fetchone()["n"] == 5
    assert db.execute("select count(*) as n from directory_changes").fetchone()["n"] == 0


def test_signed_out_pages_send_to_the_login(live_server) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        for path in ("/dashboard/problems", "/dashboard/problems.csv",
                     "/dashboard/problems/1", "/dashboard/directories",
                     "/dashboard/directories/changes"):
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/login"
        answer = client.post("/dashboard/problems/status", data={"action": "resolve"})
        assert answer.status_code == 303


@pytest.mark.parametrize("statement", [
    "select * from fn_problems_for_operator()",
    "select * from fn_problem_get(%(id)s)",
    "select * from fn_problem_occurrences(%(id)s)",
    "select * from fn_problem_events(%(id)s)",
    "select * from fn_problem_set_status(%(id)s, 'resolved', null)",
    "select * from fn_directory_suggestions('TELCO', 'UNKNOWN_DS', 'x')",
    "select fn_directory_partner_set('TELCO', 'a', 'b')",
    "select fn_directory_change_apply('TELCO', 1)",
])
def test_the_database_refuses_a_viewer_every_console_call(db, problems, statement) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(db, "viewer"):
        db.execute(statement, {"id": problems["STG-1/UNKNOWN_DELIVERY_PARTNER"]})


def test_an_inactive_ds_named_exactly_is_reactivated_in_one_click(login, database_url, tenant,
                                                                directories, db) -> None:
    submit(database_url, batch([project_row("STG-7", deployment_specialist="DS.GONE")]))
    problem_id = db.execute("select id from import_problems").fetchone()["id"]
    operator = login("operator")
    seen = operator.get(f"/dashboard/problems/{problem_id}").text
    assert "ds.gone" in seen and "inactive" in seen and "Reactivate ds.gone" not in seen
    admin = login("admin")
    page = admin.get(f"/dashboard/problems/{problem_id}").text
    assert "Reactivate ds.gone" in page
    answer = admin.post(f"/dashboard/problems/{problem_id}/fix",
                        data={"csrf": csrf_of(page), "username": "ds.gone"})
    assert answer.status_code == 303
    assert re.search(r'<strong id="problems-resolved">1</strong> problem resolved',
                     admin.get(answer.headers["location"]).text)
    assert db.execute("select active from ds_directory where preferred_username = 'ds.gone'"
                      ).fetchone()["active"] is True
    assert db.execute("select resolution from import_problems").fetchone()["resolution"] == (
        "directory_fix")
    assert db.execute("select action, problem_id from directory_changes").fetchone() == {
        "action": "reactivate", "problem_id": problem_id}
