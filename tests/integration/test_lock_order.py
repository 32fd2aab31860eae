"""No lost updates between operators and imports (issue 15): one lock order for problems and
their occurrences (fn_import_problems_lock and its callers), and a transaction rolled back for
a concurrent one (deadlock 40P01, serialization failure 40001) answers 503 `retry`, never 500.

Real PostgreSQL, real HTTP: the console's bulk resolve and imports race on the same problems
over many rounds; forced deadlock pairs show what a client sees when it does happen."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import errors

from projects_import.auth import mint_token
from tests.support import JWT_SECRET, PASSWORD, add_login, as_user, csrf_of, project_row

pytestmark = pytest.mark.engine  # row locks, deadlocks and serialization failures

PROJECTS = 40
ROUNDS = 12
STATUS_OF_EVENT = {"opened": "open", "reopened": "open", "acknowledged": "acknowledged",
                   "resolved": "resolved"}


@pytest.fixture
def operator(live_server, database_url) -> Iterator[httpx.Client]:
    """A signed-in console client of an operator."""
    email = f"op-{uuid.uuid4().hex[:6]}@example.com"
    add_login(database_url, email, "operator")
    with httpx.Client(base_url=live_server.url, timeout=60,
                      headers={"Origin": live_server.url}) as client:
        assert client.post("/login", data={"email": email, "password": PASSWORD}
                           ).status_code == 303
        client.email = email  # type: ignore[attr-defined]
        yield client


def round_rows(day: int) -> list[dict[str, Any]]:
    """Day `day`'s rows: each project's DS is unknown on two days of three (always the same
    unknown value per project), so each import opens, counts, reopens and fixes problems of
    every project the operator is resolving."""
    rows = []
    for i in range(PROJECTS):
        unknown = (i + day) % 3 != 0
        rows.append(project_row(
            f"STG-{i:03d}", residential=str(day),
            deployment_specialist=f"ghost.{i % 4}" if unknown else "PREFERRED_USERNAME"))
    return rows


def post_import(http: httpx.Client, secret: str, day: int) -> httpx.Response:
    return http.post("/import-projects", headers={"Authorization": f"Bearer {secret}"}, json={
        "tenant_id": "TELCO", "source": "projects-import", "batch_id": f"day-{day:03d}",
        "rows": round_rows(day)})


def bulk_resolve(client: httpx.Client, ids: list[int], note: str) -> httpx.Response:
    csrf = csrf_of(client.get("/dashboard/problems").text)
    return client.post("/dashboard/problems/status", data={
        "csrf": csrf, "action": "resolve", "note": note, "id": [str(i) for i in ids]})


def changed_by(answer: httpx.Response) -> re.Match[str] | None:
    """How many problems the console's bulk step says it changed (its result section)."""
    return re.search(r'id="result-changed">(\d+)<', answer.text)


def unresolved_ids(db: psycopg.Connection[Any]) -> list[int]:
    """The unresolved problems, newest id first: the reverse of the import's own order."""
    return [r["id"] for r in db.execute(
        "select id from import_problems where status <> 'resolved' order by id desc")]


def assert_consistent(db: psycopg.Connection[Any]) -> None:
    """Every problem's status is what its last event says, and its occurrences follow it."""
    rows = db.execute("""
        select pr.id, pr.status,
               (select e.action from import_problem_events e
                 where e.problem_id = pr.id order by e.id desc limit 1) as last_action,
               (select count(*) from import_anomalies a
                 where a.problem_id = pr.id and a.status <> pr.status) as astray
          from import_problems pr""").fetchall()
    assert rows
    for row in rows:
        assert STATUS_OF_EVENT[row["last_action"]] == row["status"], row
        assert row["astray"] == 0, row


def test_bulk_resolve_and_imports_on_the_same_problems_lose_nothing(
        http, operator, tenant, directories, db) -> None:
    """Over many rounds, a bulk resolve of every unresolved problem (in the form's order,
    newest first) races an import that reopens, counts and fixes the same problems. No
    answer is a 500, no request needs a retry (one lock order: nobody deadlocks), every
    resolve the console reports is in the history, and the final state is the last batch's."""
    secret = tenant[1]
    assert post_import(http, secret, 0).status_code == 200
    answers: list[tuple[str, int]] = []
    with ThreadPoolExecutor(2) as pool:
        for day in range(1, ROUNDS + 1):
            ids = unresolved_ids(db)
            assert ids
            before = db.execute("select max(id) as id from import_problem_events"
                                ).fetchone()["id"]
            note = f"round {day}"
            start = threading.Barrier(2)

            def resolve(ids: list[int] = ids, note: str = note,
                        start: threading.Barrier = start) -> httpx.Response:
                start.wait()
                return bulk_resolve(operator, ids, note)

            def send(day: int = day, start: threading.Barrier = start) -> httpx.Response:
                start.wait()
                return post_import(http, secret, day)

            resolved: Future[httpx.Response] = pool.submit(resolve)
            imported: Future[httpx.Response] = pool.submit(send)
            by_console, by_import = resolved.result(), imported.result()
            answers += [("console", by_console.status_code), ("import", by_import.status_code)]
            assert by_import.status_code == 200, by_import.text
            assert by_console.status_code == 200, by_console.text
            updated = changed_by(by_console)
            assert updated is not None
            logged = db.execute(
                "select count(*) as n from import_problem_events where action = 'resolved' "
                "and actor = %s and note = %s", (operator.email, note)).fetchone()["n"]
            assert logged == int(updated.group(1)), (day, logged, updated.group(1))
            # every selected problem was resolved in this round: by the operator, or by the
            # import's fix before the operator's turn (the import may have reopened it since)
            missed = db.execute(
                "select pr.id from import_problems pr where pr.id = any(%s) and not exists "
                "(select 1 from import_problem_events e where e.problem_id = pr.id "
                " and e.action = 'resolved' and e.id > %s)", (ids, before)).fetchall()
            assert missed == [], (day, missed)
            assert_consistent(db)
    assert {a for a in answers if a[1] >= 500} == set()
    # one more day, alone: open exactly where its rows miss a DS, resolved elsewhere
    assert post_import(http, secret, ROUNDS + 1).status_code == 200
    final = {r["project_key"]: r["status"] for r in db.execute(
        "select project_key, status from import_problems")}
    assert final == {f"STG-{i:03d}": "open" if (i + ROUNDS + 1) % 3 else "resolved"
                     for i in range(PROJECTS)}
    assert_consistent(db)


def wait_until_blocked(db: psycopg.Connection[Any], holder: psycopg.Connection[Any],
                       timeout: float = 10) -> None:
    """Until another backend waits for a lock `holder` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = db.execute("select count(*) as n from pg_stat_activity "
                         "where %s = any(pg_blocking_pids(pid))",
                         (holder.info.backend_pid,)).fetchone()
        if row["n"]:
            return
        time.sleep(0.02)
    raise AssertionError("nobody waited for the lock")


@pytest.fixture
def sees_backends(pg_pooler_url: str | None) -> None:
    """These tests watch who waits for whom by server backend (pg_blocking_pids): a
    transaction-mode pooler hands a connection another backend per transaction, so they run
    on the lanes without one (the lock order itself does not depend on the pooler)."""
    if pg_pooler_url:
        pytest.skip("a transaction-mode pooler hides which backend holds a lock")


@pytest.fixture
def open_problem(sees_backends, tenant, directories, http, db) -> int:
    assert post_import(http, tenant[1], 1).status_code == 200
    return int(db.execute("select min(id) as id from import_problems where status = 'open'"
                          ).fetchone()["id"])


def deadlock_against(database_url: str, db: psycopg.Connection[Any], problem_id: int,
                     request: Callable[[], httpx.Response]) -> httpx.Response:
    """Run `request` (which locks the problem, then its occurrences) against a transaction
    that locks an occurrence of the problem, then the problem: the opposite order. The
    request waits first, so PostgreSQL's deadlock check picks it as the victim."""
    with psycopg.connect(database_url) as other, ThreadPoolExecutor(1) as pool:
        other.execute("select id from import_anomalies where problem_id = %s "
                      "order by id limit 1 for update", (problem_id,))
        answer = pool.submit(request)
        wait_until_blocked(db, other)
        # each side checks for a deadlock deadlock_timeout after it starts waiting, and the
        # first to check is the victim: start waiting well after the request, so that a busy
        # machine's scheduling cannot make this side check first
        time.sleep(0.5)
        # granted once the request is rolled back (were this side the victim instead,
        # DeadlockDetected here fails the test)
        other.execute("select id from import_problems where id = %s for update", (problem_id,))
        other.rollback()
        return answer.result()


def test_an_api_deadlock_answers_503_retry_not_500(http, database_url, db,
                                                    open_problem) -> None:
    token = mint_token(JWT_SECRET, sub="op-9", role="operator")
    answer = deadlock_against(database_url, db, open_problem, lambda: http.post(
        f"/anomalies/problems/{open_problem}/resolve",
        headers={"Authorization": f"Bearer {token}"}))
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "1"
    error = answer.json()["error"]
    assert error["code"] == "retry"
    assert "nothing was written" in error["message"] and error["correlation_id"]
    assert db.execute("select status from import_problems where id = %s",
                      (open_problem,)).fetchone()["status"] == "open"
    # sent again, it is done
    again = http.post(f"/anomalies/problems/{open_problem}/resolve",
                      headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and again.json()["status"] == "resolved"


def test_the_console_retries_its_action_once_after_a_deadlock(operator, database_url, db,
                                                                open_problem) -> None:
    answer = deadlock_against(database_url, db, open_problem,
                              lambda: bulk_resolve(operator, [open_problem], "after deadlock"))
    assert answer.status_code == 200, answer.text
    changed = changed_by(answer)
    assert changed is not None and changed.group(1) == "1"
    events = db.execute("select action, actor from import_problem_events where problem_id = %s "
                        "order by id", (open_problem,)).fetchall()
    assert [(e["action"], e["actor"]) for e in events] == [
        ("opened", "system"), ("resolved", operator.email)]  # type: ignore[attr-defined]


def test_anomaly_set_status_waits_for_a_concurrent_resolve(database_url, db,
                                                           open_problem) -> None:
    """fn_anomaly_set_status locks the occurrence before reading its status: an occurrence a
    concurrent backfill resolves is not set back to acknowledged (it was, without the lock)."""
    anomaly = db.execute("update import_anomalies set problem_id = null where id = "
                         "(select min(id) from import_anomalies where problem_id = %s) "
                         "returning id", (open_problem,)).fetchone()["id"]
    db.commit()
    with psycopg.connect(database_url) as backfill, ThreadPoolExecutor(1) as pool:
        backfill.execute("update import_anomalies set status = 'resolved', resolved_at = now() "
                         "where id = %s", (anomaly,))

        def acknowledge() -> str:
            with psycopg.connect(database_url) as conn, as_user(conn, "operator", "op-3"):
                try:
                    conn.execute("select * from fn_anomaly_set_status(%s, 'acknowledged')",
                                 (anomaly,))
                except errors.ObjectNotInPrerequisiteState as exc:
                    return f"refused: {exc.diag.message_primary}"
            return "acknowledged"

        outcome = pool.submit(acknowledge)
        wait_until_blocked(db, backfill)
        backfill.commit()
        assert outcome.result() == f"refused: anomaly {anomaly} is already resolved; " \
                                   "it cannot be acknowledged"
    assert db.execute("select status from import_anomalies where id = %s",
                      (anomaly,)).fetchone()["status"] == "resolved"


@pytest.fixture
def admin(live_server, database_url) -> Iterator[httpx.Client]:
    email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    add_login(database_url, email, "admin")
    with httpx.Client(base_url=live_server.url, timeout=60,
                      headers={"Origin": live_server.url}) as client:
        assert client.post("/login", data={"email": email, "password": PASSWORD}
                           ).status_code == 303
        yield client


def test_bulk_resolve_races_the_backfill_and_directory_fixes(
        http, operator, admin, tenant, database_url, directories, db) -> None:
    """The backfill and a directory fix (which runs the backfill for the projects it affects)
    resolve the same problems an operator bulk-resolves, newest first: nobody deadlocks, and
    every resolve the console reports is in the history."""
    secret = tenant[1]
    with ThreadPoolExecutor(2) as pool:
        for day in range(1, 7):
            db.execute("delete from ds_directory where preferred_username like 'ghost.%%'")
            db.commit()
            assert post_import(http, secret, day).status_code == 200
            ids = unresolved_ids(db)
            assert ids
            note = f"fix round {day}"
            start = threading.Barrier(2)

            def resolve(ids: list[int] = ids, note: str = note,
                        start: threading.Barrier = start) -> httpx.Response:
                start.wait()
                return bulk_resolve(operator, ids, note)

            def fix(day: int = day, start: threading.Barrier = start) -> str:
                with psycopg.connect(database_url) as conn:
                    conn.execute("insert into ds_directory (tenant_id, preferred_username) "
                                 "select 'TELCO', 'ghost.' || g from generate_series(1, 3) g")
                    conn.commit()
                    if day % 2:
                        start.wait()
                        conn.execute("select fn_projects_membership_backfill('TELCO')")
                        conn.commit()
                        return "backfill"
                csrf = csrf_of(admin.get("/dashboard/directories").text)
                start.wait()
                answer = admin.post("/dashboard/directories", data={
                    "csrf": csrf, "tenant": "TELCO", "directory": "ds", "op": "set",
                    "username": "ghost.0", "display_name": "Found Again"})
                assert answer.status_code == 303, answer.text
                return "directory fix"

            by_console = pool.submit(resolve)
            fixed = pool.submit(fix)
            assert fixed.result() in ("backfill", "directory fix")
            answer = by_console.result()
            assert answer.status_code == 200, answer.text
            updated = changed_by(answer)
            assert updated is not None
            logged = db.execute(
                "select count(*) as n from import_problem_events where action = 'resolved' "
                "and actor = %s and note = %s", (operator.email, note)).fetchone()["n"]
            assert logged == int(updated.group(1))
            assert db.execute("select count(*) as n from import_problems where id = any(%s) "
                              "and status <> 'resolved'", (ids,)).fetchone()["n"] == 0
            assert_consistent(db)


def held_by_others(db: psycopg.Connection[Any], ids: list[int]) -> set[int]:
    """Which of these problems another transaction holds locked right now."""
    with db.transaction():
        free = {r["id"] for r in db.execute(
            "select id from import_problems where id = any(%s) for update skip locked",
            (ids,))}
    return set(ids) - free


@pytest.mark.parametrize("path", ["console bulk resolve", "import", "backfill"])
def test_each_path_locks_its_problems_up_front_in_id_order(
        sees_backends, path, http, operator, tenant, database_url, directories, db) -> None:
    """While a path waits for one of its problems (held by another transaction), it holds
    exactly the ones with a smaller id: it takes them all up front, in id order."""
    secret = tenant[1]
    assert post_import(http, secret, 1).status_code == 200
    ids = unresolved_ids(db)
    assert len(ids) > 10
    middle = sorted(ids)[len(ids) // 2]

    def backfill() -> str:
        with psycopg.connect(database_url) as conn:
            conn.execute("select fn_projects_membership_backfill('TELCO')")
        return "done"

    if path == "backfill":  # the unknown DSs are known now: the backfill resolves every one
        db.execute("insert into ds_directory (tenant_id, preferred_username) "
                   "select 'TELCO', 'ghost.' || g from generate_series(0, 3) g")

    run: dict[str, Callable[[], Any]] = {
        "console bulk resolve": lambda: bulk_resolve(operator, ids, "in order"),
        "import": lambda: post_import(http, secret, 2),
        "backfill": backfill,
    }
    db.commit()
    with psycopg.connect(database_url) as holder, ThreadPoolExecutor(1) as pool:
        holder.execute("select id from import_problems where id = %s for update", (middle,))
        outcome = pool.submit(run[path])
        wait_until_blocked(db, holder)
        held = held_by_others(db, ids)
        holder.rollback()
        result = outcome.result()
    assert held == {i for i in ids if i <= middle}
    if isinstance(result, httpx.Response):
        assert result.status_code in (200, 303), result.text
