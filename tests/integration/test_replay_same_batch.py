"""A replay is the same batch again (SPEC §5.2, migration 0034): the same batch_id with the
same rows, however late, answers its original answer and writes nothing; a new batch_id is new
data and is merged even when its rows equal an older batch's (a daily export that went back to
an earlier state), so the projects hold what the latest batch said."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import psycopg
import structlog

from tests.support import batch, project_row

ANN = "First Last"        # rm_directory: flast
BOB = "Second Manager"    # rm_directory: rm.second


def post(http: httpx.Client, secret: str, body: bytes) -> httpx.Response:
    return http.post("/import-projects", content=body,
                     headers={"Authorization": f"Bearer {secret}",
                              "Content-Type": "application/json"})


def day(batch_id: str, manager: str, **row: Any) -> bytes:
    return json.dumps(batch([project_row("P", relationship_manager=manager, **row),
                             project_row("Q")], batch_id=batch_id)).encode()


def rm_of(db: psycopg.Connection[Any], key: str = "P") -> list[str]:
    rows = db.execute("select member from vw_project_members where project_key = %s "
                      "and role = 'relationship_manager'", (key,)).fetchall()
    return [r["member"] for r in rows]


def state(db: psycopg.Connection[Any]) -> dict[str, Any]:
    def rows(query: str) -> list[tuple[Any, ...]]:
        return [tuple(r.values()) for r in db.execute(query).fetchall()]
    return {
        "projects": rows("select stage_application, relationship_manager, rm_username, "
                         "last_batch_id, updated_at from projects order by 1"),
        "members": rows("select project_key, member_type, member, role, since "
                        "from vw_project_members order by 1, 2, 3, 4"),
        "memberships": rows("select stage_application, username, role, ended_at "
                            "from project_user_memberships order by 1, 2, 3, 4"),
        "staged": rows("select id, validation from staging_imports order by created_at"),
        "anomalies": rows("select id, status from import_anomalies order by id"),
        "problems": rows("select id, status, occurrences from import_problems order by id"),
    }


def test_a_b_a_ends_on_the_latest_batch(http, db, tenant, directories) -> None:
    """Day 1 P→Ann, day 2 P→Bob, day 3 P→Ann again: P ends on Ann, Ann's membership is
    active, Bob's ended; day 3 answers with its own batch_id."""
    _, secret = tenant
    first = post(http, secret, day("day-1", ANN)).json()
    assert rm_of(db) == ["flast"]
    second = post(http, secret, day("day-2", BOB)).json()
    assert second["replayed"] is False and rm_of(db) == ["rm.second"]

    third = post(http, secret, day("day-3", ANN))
    assert third.status_code == 200, third.text
    body = third.json()
    assert body["replayed"] is False
    assert body["batch_id"] not in (first["batch_id"], second["batch_id"])
    assert body["metrics"]["updated_projects"] == 1
    assert body["metrics"]["unchanged_projects"] == 1
    assert body["metrics"]["memberships_ended"] == 1
    assert body["metrics"]["staging_id"] not in (first["metrics"]["staging_id"],
                                                 second["metrics"]["staging_id"])

    project = db.execute("select relationship_manager, rm_username, last_batch_id::text "
                         "from projects where stage_application = 'P'").fetchone()
    assert project == {"relationship_manager": ANN, "rm_username": "flast",
                       "last_batch_id": body["batch_id"]}
    assert rm_of(db) == ["flast"]
    bob = db.execute("select ended_at is not null as ended, ended_batch_id::text "
                     "from project_user_memberships where stage_application = 'P' "
                     "and username = 'rm.second'").fetchall()
    assert bob == [{"ended": True, "ended_batch_id": body["batch_id"]}]
    staged = db.execute("select count(*) as n, count(distinct batch_checksum) as sums "
                        "from staging_imports").fetchone()
    assert staged == {"n": 3, "sums": 2}  # day 1 and day 3 share a checksum


def test_a_late_retry_of_day_one_is_a_replay_that_changes_nothing(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    day1 = day("day-1", ANN, deployment_specialist="ghost")
    first = post(http, secret, day1).json()
    post(http, secret, day("day-2", BOB))
    before = state(db)

    # the exact request again (the request digest answers it) ...
    exact = post(http, secret, day1)
    # ... and the same batch in other bytes (reordered, re-spaced: the batch path answers it)
    payload = json.loads(day1)
    payload["rows"] = [dict(r, residential=f" {r['residential']} ")
                       for r in reversed(payload["rows"])]
    respelled = post(http, secret, json.dumps(payload, indent=1).encode())

    for response in (exact, respelled):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["replayed"] is True
        assert body["batch_id"] == first["batch_id"]
        assert body["metrics"] == first["metrics"]
    assert state(db) == before
    assert rm_of(db) == ["rm.second"]
    replayed = db.execute("select count(*) as n from import_requests where replayed").fetchone()
    assert replayed["n"] == 2


def test_same_batch_id_with_other_rows_is_still_422(http, db, tenant, directories) -> None:
    _, secret = tenant
    post(http, secret, day("day-1", ANN))
    before = state(db)
    refused = post(http, secret, day("day-1", BOB))
    assert refused.status_code == 422, refused.text
    violation = refused.json()["violations"][0]
    assert (violation["field"], violation["code"]) == ("batch_id", "batch_conflict")
    assert "day-1" in violation["message"]
    assert state(db) == before


def test_the_jsonb_submit_function_follows_the_same_rule(db, tenant, directories) -> None:
    """fn_projects_import_submit (jsonb rows), as psql callers use it."""
    rows = [{"stage_application": "P", "relationship_manager": ANN}]

    def submit(batch_id: uuid.UUID, checksum: str, given: list[dict[str, Any]]
               ) -> dict[str, Any]:
        answer: dict[str, Any] = db.execute(
            "select fn_projects_import_submit('TELCO', 'psql', %s, %s, 1::smallint, %s, %s, "
            "gen_random_uuid(), '{}') as a",
            (batch_id, checksum, json.dumps({"rows": given}), json.dumps(given))
        ).fetchone()["a"]
        return answer

    one, two, three = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert submit(one, "sum-ann", rows)["outcome"] == "merged"
    assert submit(two, "sum-bob", [dict(rows[0], relationship_manager=BOB)])["outcome"] == \
        "merged"
    assert rm_of(db) == ["rm.second"]
    again = submit(one, "sum-ann", rows)
    assert again["outcome"] == "replayed" and again["batch_id"] == str(one)
    assert rm_of(db) == ["rm.second"]
    conflict = submit(one, "sum-bob", [dict(rows[0], relationship_manager=BOB)])
    assert conflict["outcome"] == "batch_conflict"
    reverted = submit(three, "sum-ann", rows)
    assert reverted["outcome"] == "merged" and reverted["batch_id"] == str(three)
    assert rm_of(db) == ["flast"]


def test_a_replay_is_logged_without_values(database_url, db, tenant, directories) -> None:
    from projects_import.db.connection import Database
    from projects_import.imports.contract import parse_payload
    from projects_import.imports.service import ImportService

    payload = batch([project_row("P", relationship_manager=ANN)], batch_id="day-1")

    async def twice() -> list[bool]:
        async with Database(database_url, max_size=1) as database:
            service = ImportService(database)
            answers = []
            for _ in range(2):
                request = parse_payload(payload, max_rows=5000)
                answers.append((await service.submit(request)).replayed)
            return answers

    with structlog.testing.capture_logs() as logs:
        assert asyncio.run(twice()) == [False, True]
    lines = [line for line in logs if line["event"] == "import_replayed"]
    assert len(lines) == 1
    line = lines[0]
    assert line["found_by"] == "batch" and line["tenant_id"] == "TELCO"
    staged = db.execute("select batch_id::text, id::text from staging_imports").fetchone()
    assert (line["batch_id"], line["staging_id"]) == (staged["batch_id"], staged["id"])
    assert ANN not in json.dumps(line, default=str)
