"""Hostile bodies over HTTP: every one answers a 4xx with the error shape (or 200), never 5xx,
and what is refused writes nothing."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projects_import.imports import limits
from tests.support import batch, project_row
from tests.support.strategies import envelopes, rows


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def post_json(http: httpx.Client, secret: str, payload: Any) -> httpx.Response:
    # ensure_ascii: lone surrogates travel as \ud800 escapes, as a hostile client sends them
    return http.post("/import-projects", content=json.dumps(payload).encode(),
                     headers={**auth(secret), "Content-Type": "application/json"})


def assert_error_shape(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) <= {"error", "violations", "violations_total"}
    assert body["error"]["code"] and body["error"]["message"]
    uuid.UUID(body["error"]["correlation_id"])
    return body


def staged(db: psycopg.Connection[Any]) -> int:
    return int(db.execute("select count(*) as n from staging_imports").fetchone()["n"])


@pytest.mark.parametrize(("row", "field", "code"), [
    (project_row("STG-1", residential="9" * 5000), "residential", "too_long"),
    (project_row("STG-1", premises_count="0" * 4400), "premises_count", "too_long"),
    (project_row("STG-1", commercial="99999999999"), "commercial", "out_of_range"),
    ({**project_row("STG-1"), "bad\ud800key": "x"}, "bad\\ud800key", "invalid_character"),
    ({**project_row("STG-1"), "k" * 300: "x"}, "k" * 64 + "…", "too_long"),
    ({**project_row("STG-1"), "note": "x" * 70_000}, "note", "too_long"),
])
def test_inputs_that_answered_500_are_422(http, db, tenant, row: dict[str, Any], field: str,
                                          code: str) -> None:
    _, secret = tenant
    response = post_json(http, secret, batch([row]))
    assert response.status_code == 422, response.text
    body = assert_error_shape(response)
    assert [(v["row_index"], v["field"], v["code"]) for v in body["violations"]] == [
        (0, field, code)]
    assert staged(db) == 0


def test_lone_surrogate_envelope_key_is_422(http, db, tenant) -> None:
    _, secret = tenant
    response = post_json(http, secret, batch([project_row("STG-1")], **{"x\udc00": 1}))
    assert response.status_code == 422, response.text
    assert assert_error_shape(response)["violations"][0]["field"] == "x\\udc00"
    assert staged(db) == 0


def test_a_very_wide_csv_header_is_refused_at_once(http, db, tenant) -> None:
    _, secret = tenant
    header = ",".join(["stage_application", *(f"c{i}" for i in range(40_000))])
    started = time.perf_counter()
    response = http.post("/import-projects", content=f"{header}\nS-1\n".encode(),
                         params={"tenant_id": "TELCO", "batch_id": "wide"},
                         headers={**auth(secret), "Content-Type": "text/csv"})
    assert time.perf_counter() - started < 2
    assert response.status_code == 400, response.text
    assert f"at most {limits.MAX_COLUMNS}" in assert_error_shape(response)["error"]["message"]
    assert staged(db) == 0


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(rows, min_size=1, max_size=3), envelope=envelopes)
def test_no_generated_body_yields_a_5xx(http, tenant, rows: list[dict[str, Any]],
                                        envelope: dict[str, Any]) -> None:
    _, secret = tenant
    payload = {**envelope, "tenant_id": "TELCO", "rows": rows}
    response = post_json(http, secret, payload)
    assert response.status_code in (200, 400, 422), response.text
    if response.status_code != 200:
        assert_error_shape(response)
