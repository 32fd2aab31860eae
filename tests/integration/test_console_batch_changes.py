"""An import's page lists, paged, what its batch wrote: the projects it inserted and last
changed, the memberships it started and ended (docs/console.md, issue 19 stumble 2)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import psycopg
import pytest

from tests.integration.test_console_imports_tenants import (
    OPERATOR,
    VIEWER,
    client_as,
)
from tests.support import add_login, batch, bearer, project_row, user_token


@pytest.fixture
def logins(database_url: str) -> None:
    for email, role in ((OPERATOR, "operator"), (VIEWER, "viewer")):
        add_login(database_url, email, role)


def _send(http: httpx.Client, tenant: tuple[str, str], db: psycopg.Connection[Any],
          rows: list[dict[str, Any]], batch_id: str) -> int:
    answer = http.post("/import-projects", json=batch(rows, batch_id=batch_id),
                       headers={"Authorization": f"Bearer {tenant[1]}"})
    assert answer.status_code == 200, answer.text
    found = db.execute("select id from import_requests where request_batch_id = %s",
                       (batch_id,)).fetchone()
    assert found is not None
    return int(found["id"])


def _list(html: str, kind: str) -> list[str]:
    """The project keys (with their member, if any) one list of the page shows."""
    part = html.split(f'id="changes-{kind}"')[1].split("</div>")[0]
    return [re.sub(r"<[^>]+>", "", item).strip()
            for item in re.findall(r"<li[^>]*>(.*?)</li>", part, re.S)]


def _total(html: str, kind: str) -> int:
    found = re.search(rf'id="changes-{kind}" data-total="([0-9]+)"', html)
    assert found is not None
    return int(found.group(1))


def test_each_import_lists_what_its_batch_inserted_changed_started_and_ended(
        live_server: Any, http: httpx.Client, tenant: tuple[str, str], directories: None,
        logins: None, db: psycopg.Connection[Any]) -> None:
    day1 = _send(http, tenant, db, [project_row(f"STG-{n}") for n in (1, 2, 3)], "day-1")
    day2 = _send(http, tenant, db,
                 [project_row("STG-2", relationship_manager="Second Manager"),
                  project_row("STG-4")], "day-2")
    with client_as(live_server, OPERATOR) as ops:
        first = ops.get(f"/dashboard/imports/{day1}")
        second = ops.get(f"/dashboard/imports/{day2}")
    assert first.status_code == 200 and second.status_code == 200, second.text
    one, two = first.text, second.text
    assert _list(one, "inserted") == ["STG-1", "STG-2", "STG-3"]
    assert '<a class="project-link" href="/dashboard/projects/TELCO/STG-1">' in one
    # day 1 started each project's partner, DS and RM memberships and ended none
    assert _total(one, "started") == 9 and _list(one, "ended") == []
    # STG-2 changed again on day 2: listed under day 2 only (documented)
    assert _list(one, "changed") == []
    assert _list(two, "inserted") == ["STG-4"]
    assert _list(two, "changed") == ["STG-2"]
    assert _list(two, "ended") == ["STG-2 relationship manager: flast"]
    started = _list(two, "started")
    assert "STG-2 relationship manager: rm.second" in started
    assert len(started) == 1 + 3  # STG-2's new RM, STG-4's partner, DS and RM
    assert "a later batch changed again is listed under that later batch only" in one


def test_the_lists_are_paged_and_a_viewer_is_refused(
        live_server: Any, http: httpx.Client, tenant: tuple[str, str], directories: None,
        logins: None, db: psycopg.Connection[Any]) -> None:
    keys = [f"STG-{n:03d}" for n in range(1, 61)]
    sent = _send(http, tenant, db, [project_row(k) for k in keys], "day-1")
    with client_as(live_server, OPERATOR) as ops:
        first = ops.get(f"/dashboard/imports/{sent}").text
        assert _total(first, "inserted") == 60
        assert _list(first, "inserted") == keys[:50]
        assert "page 1 of 2" in first
        link = re.search(r'id="changes-inserted-pager">.*?<a href="([^"]+)" rel="next"',
                         first, re.S)
        assert link is not None and "inserted=2" in link.group(1)
        second = ops.get(link.group(1).replace("&amp;", "&").split("#")[0]).text
        assert _list(second, "inserted") == keys[50:]
        assert 'rel="prev"' in second.split('id="changes-inserted"')[1]
        # the other lists stay on their first page
        assert _total(second, "started") == 180 and len(_list(second, "started")) == 50
    with client_as(live_server, VIEWER) as viewer:
        refused = viewer.get(f"/dashboard/imports/{sent}")
        assert refused.status_code == 403
        assert "STG-001" not in refused.text


def test_a_published_batch_lists_what_its_publish_wrote(
        live_server: Any, http: httpx.Client, tenant: tuple[str, str], directories: None,
        logins: None, db: psycopg.Connection[Any]) -> None:
    """A held batch merges at its publish, in another transaction than its staging: the
    projects it then inserted are matched by the publish decision's time."""
    keys = [f"STG-{n}" for n in range(1, 11)]
    _send(http, tenant, db, [project_row(k) for k in keys], "day-1")
    db.execute("select fn_tenant_set_audit('TELCO', true, p_max_changed_share => 0.2, "
               "p_min_rows => 1)")
    held = http.post("/import-projects", json=batch(
        [project_row(k, relationship_manager="Second Manager") for k in keys]
        + [project_row("STG-11")], batch_id="day-2"),
        headers={"Authorization": f"Bearer {tenant[1]}"})
    assert held.status_code == 202, held.text
    found = db.execute("select id from import_requests where request_batch_id = 'day-2'"
                       ).fetchone()
    assert found is not None
    day2 = int(found["id"])
    with client_as(live_server, OPERATOR) as ops:
        before = ops.get(f"/dashboard/imports/{day2}").text
        assert _total(before, "inserted") == 0 and _total(before, "changed") == 0
        published = http.post(f"/imports/{day2}/publish",
                              headers=bearer(user_token("admin")))
        assert published.status_code == 200, published.text
        after = ops.get(f"/dashboard/imports/{day2}").text
    assert _list(after, "inserted") == ["STG-11"]
    assert _total(after, "changed") == 10
    assert _total(after, "ended") == 10 and _total(after, "started") == 10 + 3
