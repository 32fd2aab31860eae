"""A tenant with an import in progress gets its 429 at once, before its body is read; the
in-process check and the database lock agree."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import batch, project_row

pytestmark = pytest.mark.engine  # the database's per-tenant lock


def test_busy_tenant_is_refused_before_its_body_is_read(live_server, db, tenant,
                                                        directories) -> None:
    _, secret = tenant
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    body = json.dumps(batch([project_row(f"STG-{i}") for i in range(50)])).encode()
    release = threading.Event()

    def trickle() -> Iterator[bytes]:
        yield body[:100]
        release.wait(20)
        yield body[100:]

    answers: list[httpx.Response] = []
    first = threading.Thread(target=lambda: answers.append(httpx.post(
        f"{live_server.url}/import-projects", content=trickle(), headers=headers, timeout=30)))
    first.start()
    try:
        time.sleep(0.5)  # the first request holds the tenant's turn, waiting for its body
        started = time.perf_counter()
        busy = httpx.post(f"{live_server.url}/import-projects", content=body, headers=headers,
                          timeout=10)
        elapsed = time.perf_counter() - started
    finally:
        release.set()
        first.join(timeout=30)
    assert busy.status_code == 429, busy.text
    assert busy.json()["error"]["code"] == "import_in_progress"
    assert int(busy.headers["Retry-After"]) >= 1
    assert busy.headers.get("Connection") != "close"  # drained: the connection lives on
    assert elapsed < 1.0
    assert answers[0].status_code == 200, answers[0].text
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 1


def test_a_busy_answer_does_not_wait_for_its_record(live_server, db, database_url, tenant,
                                                    directories) -> None:
    """The 429 is answered before its import_requests row is written, and the row follows."""
    _, secret = tenant
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    body = json.dumps(batch([project_row("STG-1")])).encode()
    release = threading.Event()

    def trickle() -> Iterator[bytes]:
        yield body[:10]
        release.wait(20)
        yield body[10:]

    answers: list[httpx.Response] = []
    first = threading.Thread(target=lambda: answers.append(httpx.post(
        f"{live_server.url}/import-projects", content=trickle(), headers=headers, timeout=30)))
    first.start()
    try:
        time.sleep(0.5)
        with psycopg.connect(database_url, autocommit=True) as blocker:
            # every write to the history waits while this lock is held
            blocker.execute("begin")
            blocker.execute("lock table import_requests in exclusive mode")
            started = time.perf_counter()
            busy = httpx.post(f"{live_server.url}/import-projects", content=body,
                              headers=headers, timeout=10)
            elapsed = time.perf_counter() - started
            assert busy.status_code == 429, busy.text
            assert elapsed < 1.0
            assert recorded(db, 429) == 0
            blocker.execute("rollback")
        deadline = time.monotonic() + 10
        while recorded(db, 429) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert recorded(db, 429) == 1
    finally:
        release.set()
        first.join(timeout=30)
    assert answers[0].status_code == 200, answers[0].text
    row = db.execute("select error_code, correlation_id::text as correlation_id "
                     "from import_requests where status = 429").fetchone()
    assert row == {"error_code": "import_in_progress",
                   "correlation_id": busy.json()["error"]["correlation_id"]}


def recorded(db: psycopg.Connection[Any], status: int) -> int:
    found = db.execute("select count(*) as n from import_requests where status = %s",
                       (status,)).fetchone()
    return int(found["n"])
