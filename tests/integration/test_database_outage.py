"""A database that drops connections or restarts: pooled connections are tested on checkout,
a request that loses its connection answers 503 with Retry-After and writes nothing, and the
first requests after the database is back succeed. (A full server restart under load is
`stress/db_restart.py`.)"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import batch, project_row

pytestmark = pytest.mark.engine  # connections dropped by the server (or the pooler)

# Behind a transaction-mode pooler the service holds connections to the pooler, not to the
# server: a terminated or refused server backend is the pooler's to replace, and the service
# rightly sees nothing. These tests are about the service's own pool.
direct_only = pytest.mark.skipif(
    bool(os.environ.get("PROJECTS_IMPORT_TEST_POOLER_URL")),
    reason="the pooler, not the service, reconnects to the server behind it")


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def terminate_others(db: psycopg.Connection[Any], where: str = "true") -> int:
    """Terminate every other backend of this database matching `where`; how many."""
    rows = db.execute(
        "select pg_terminate_backend(pid) as done from pg_stat_activity "
        f"where datname = current_database() and pid <> pg_backend_pid() and {where}"
    ).fetchall()
    return sum(1 for row in rows if row["done"])


@direct_only
def test_terminated_pool_connections_cost_no_request(http, db, tenant, directories) -> None:
    _, secret = tenant
    for i in range(3):  # warm the pool
        response = http.post("/import-projects", json=batch([project_row(f"W-{i}")],
                                                            batch_id=f"warm-{i}"),
                             headers=auth(secret))
        assert response.status_code == 200, response.text
    assert terminate_others(db) >= 1
    statuses = [http.post("/import-projects", json=batch([project_row(f"A-{i}")],
                                                         batch_id=f"after-{i}"),
                          headers=auth(secret)).status_code for i in range(5)]
    assert statuses == [200] * 5
    assert http.get("/readyz").status_code == 200
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 8


def test_connection_lost_mid_import_is_503_and_writes_nothing(http, db, database_url, tenant,
                                                              directories) -> None:
    _, secret = tenant
    answers: list[httpx.Response] = []
    payload = batch([project_row("STG-1")], batch_id="lost-mid-import")
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("begin")
        holder.execute("lock table public.projects in access exclusive mode")
        sender = threading.Thread(target=lambda: answers.append(
            http.post("/import-projects", json=payload, headers=auth(secret))))
        sender.start()
        deadline = time.monotonic() + 10
        while not terminate_others(db, "wait_event_type = 'Lock'"
                                       " and pid <> " + str(holder.info.backend_pid)):
            assert time.monotonic() < deadline, "the import never waited on the lock"
            time.sleep(0.05)
        sender.join(timeout=20)
        holder.execute("rollback")
    response = answers[0]
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["error"]["code"] == "database_unavailable"
    uuid.UUID(body["error"]["correlation_id"])
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 0
    assert db.execute("select count(*) as n from projects").fetchone()["n"] == 0
    again = http.post("/import-projects", json=payload, headers=auth(secret))
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is False


@direct_only
def test_readyz_and_imports_answer_503_while_the_database_refuses(http, db, database_url,
                                                                  pg_admin_url, tenant) -> None:
    _, secret = tenant
    name = db.execute("select current_database() as d").fetchone()["d"]
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'alter database "{name}" allow_connections false')
        try:
            terminate_others(db)
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert ready.headers["Retry-After"]
            started = time.monotonic()
            response = http.post("/import-projects", json=batch([project_row("STG-1")]),
                                 headers=auth(secret))
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "database_unavailable"
            assert time.monotonic() - started < 15
        finally:
            admin.execute(f'alter database "{name}" allow_connections true')
    deadline = time.monotonic() + 15
    while http.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.2)
    response = http.post("/import-projects", json=batch([project_row("STG-1")]),
                         headers=auth(secret))
    assert response.status_code == 200, response.text
