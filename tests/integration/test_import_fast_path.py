"""The fast import path over HTTP: the same answers as before, the body staged as received,
and a replay answered from the checksum."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.support import batch, project_row

pytestmark = pytest.mark.engine  # the staged body and checksum in SQL


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


def post_bytes(http: httpx.Client, secret: str, body: bytes) -> httpx.Response:
    return http.post("/import-projects", content=body, headers=auth(secret))


def test_an_integer_past_64_bits_is_judged_as_the_integer_it_is(http, db, tenant) -> None:
    """orjson reads it as a float; the answer must still be json's: out of range."""
    _, secret = tenant
    body = (b'{"tenant_id": "TELCO", "batch_id": "big", "rows": [{"stage_application": "S-1", '
            b'"residential": 123456789012345678901234567890}]}')
    response = post_bytes(http, secret, body)
    assert response.status_code == 422, response.text
    assert response.json()["violations"] == [{
        "row_index": 0, "field": "residential", "code": "out_of_range",
        "message": "residential is larger than 2147483647"}]
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 0


def test_a_nul_escape_is_refused_as_before(http, db, tenant) -> None:
    _, secret = tenant
    body = (b'{"tenant_id": "TELCO", "rows": [{"stage_application": "S-1", '
            b'"delivery_partner": "a\\u0000b"}]}')
    response = post_bytes(http, secret, body)
    assert response.status_code == 422, response.text
    assert [(v["field"], v["code"]) for v in response.json()["violations"]] == [
        ("delivery_partner", "invalid_character")]


def test_the_json_body_is_staged_as_received(http, db, tenant, directories) -> None:
    """Unknown keys, their numbers (even past 64 bits) and the envelope reach `raw` intact."""
    _, secret = tenant
    rows = [project_row("STG-1", upstream_extra={"kept": [1, 2]}),
            project_row("STG-2", residential=7)]
    body = json.dumps(batch(rows, batch_id="raw-kept", note="hello")).encode()
    body = body.replace(b'"hello"', b'123456789012345678901234567890')
    response = post_bytes(http, secret, body)
    assert response.status_code == 200, response.text
    staged = db.execute("select raw::text as raw from staging_imports").fetchone()["raw"]
    assert json.loads(staged) == json.loads(body)
    assert json.loads(staged)["note"] == 123456789012345678901234567890


def test_a_replay_is_answered_from_the_batch_id_and_checksum(http, db, tenant,
                                                              directories) -> None:
    _, secret = tenant
    rows = [project_row(f"STG-{i}", deployment_specialist="ghost" if i % 2 else "x")
            for i in range(20)]
    first = post_bytes(http, secret, json.dumps(batch(rows, batch_id="r-1")).encode()).json()
    before = _domain_counts(db)
    # the same batch, its rows reordered, re-spaced and with different upstream extras (other
    # bytes, so not the digest path): still a replay
    shuffled = [dict(row, residential=f" {row['residential']} ", extra=i)
                for i, row in enumerate(reversed(rows))]
    again = post_bytes(http, secret, json.dumps(batch(shuffled, batch_id="r-1"),
                                                indent=2).encode())
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["replayed"] is True
    assert body["batch_id"] == first["batch_id"]
    assert {k: body["metrics"][k] for k in first["metrics"]} == first["metrics"]
    assert _domain_counts(db) == before


def test_csv_takes_the_same_path_with_the_same_result(http, db, tenant, directories) -> None:
    _, secret = tenant
    csv_body = ("stage_application,delivery_partner,residential,stage_application_created\n"
                " C-1 ,Fulton Hogan, 007 ,2025-04-01\nC-2,,,\n")
    response = http.post("/import-projects", content=csv_body.encode(),
                         params={"tenant_id": "TELCO", "batch_id": "csv-fast"},
                         headers={"Authorization": auth(secret)["Authorization"],
                                  "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    got = db.execute("select stage_application, residential, stage_application_created::text "
                     "as created from projects order by 1").fetchall()
    assert got == [{"stage_application": "C-1", "residential": 7, "created": "2025-04-01"},
                   {"stage_application": "C-2", "residential": 0, "created": None}]


def _domain_counts(db: Any) -> dict[str, int]:
    tables = ("projects", "staging_imports", "import_anomalies", "project_org_memberships",
              "project_user_memberships")
    return {t: db.execute(f"select count(*) as n from {t}").fetchone()["n"] for t in tables}


def test_the_replay_lookup_leaves_a_paused_tenant_to_the_submit_function(
        db, database_url, tenant, directories) -> None:
    from projects_import.db.queries import query
    from tests.support import submit

    first = submit(database_url, batch([project_row("STG-1")], batch_id="p-1"))
    checksum = db.execute("select batch_checksum from staging_imports").fetchone()[
        "batch_checksum"]
    lookup = query("import_replay_lookup")
    same = {"tenant_id": "TELCO", "batch_id": first["batch_id"], "batch_checksum": checksum}
    found = db.execute(lookup, same).fetchone()
    assert found["result"]["outcome"] == "replayed"
    assert found["result"]["batch_id"] == first["batch_id"]
    # the same rows under another batch id are not a replay; nor other rows under this one
    assert db.execute(lookup, dict(same, batch_id=uuid.uuid4())).fetchone() is None
    assert db.execute(lookup, dict(same, batch_checksum="0" * 64)).fetchone() is None
    db.execute("select fn_tenant_pause('TELCO', 'maintenance')")
    assert db.execute(lookup, same).fetchone() is None
