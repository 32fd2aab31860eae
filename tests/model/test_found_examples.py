"""Sequences the model-based test of whole days (test_daily_imports) found or was built to
reach, kept as plain regression tests."""

from __future__ import annotations

import json
from typing import Any

import httpx
import psycopg

from tests.support import batch, project_row


def post(http: httpx.Client, secret: str, payload: dict[str, Any]) -> httpx.Response:
    return http.post("/import-projects", content=json.dumps(payload).encode(),
                     headers={"Authorization": f"Bearer {secret}",
                              "Content-Type": "application/json"})


def age_staging(db: psycopg.Connection[Any], days: int) -> None:
    db.execute("update staging_imports set created_at = now() - make_interval(days => %s)",
               (days,))


def test_a_retry_after_retention_removed_its_batch(http, db, tenant, directories) -> None:
    """Day 1 (with an unknown DS) is staged, then retention removes the staged batch but
    keeps its occurrences (anomalies live longer); a retry of day 1 is no longer a replay."""
    _, secret = tenant
    day1 = batch([project_row("P", deployment_specialist="ghost")], batch_id="day-1")
    assert post(http, secret, day1).status_code == 200
    age_staging(db, 61)
    db.execute("select fn_cleanup_import_data(60, 90)")
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 0
    again = post(http, secret, day1)
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is False
    # the miss was recorded when day 1 was merged: not a second occurrence of it
    occurrences = db.execute("select count(*) as n from import_anomalies").fetchone()["n"]
    problem = db.execute("select status, occurrences from import_problems").fetchone()
    assert (occurrences, problem) == (1, {"status": "open", "occurrences": 1})
