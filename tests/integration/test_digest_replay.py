"""A replay answered by the request digest (0030): an exact re-send is found before its body is
decoded, and answers exactly what the checksum path answers for the same request; anything
else takes the checksum path as before.

Which path answered is made visible by spoiling the staged checksum: the checksum path then
misses and the same batch_id is a batch conflict (422), while the digest still answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from projects_import.imports.contract import derive_uuid
from tests.support import batch, project_row

pytestmark = pytest.mark.engine  # the staged digest and checksum in SQL

# import_requests columns that must match between the two paths (not id, time or timings)
RECORDED = ("tenant_id", "correlation_id", "batch_id", "status", "error_code", "rows", "bytes",
            "replayed", "request_batch_id", "source", "staging_id", "inserted_projects",
            "updated_projects", "unchanged_projects", "org_memberships_upserted",
            "user_memberships_upserted", "anomalies_count", "violations_total")

CSV_BODY = (b"stage_application,delivery_partner,deployment_specialist,residential\n"
            b"C-1,Fulton Hogan,ghost,7\nC-2,Unknown Civil,PREFERRED_USERNAME,\n")


def headers(secret: str, media: str = "application/json", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Content-Type": media, **extra}


def send(http: httpx.Client, secret: str, body: bytes, *, media: str = "application/json",
         params: dict[str, str] | None = None, **extra: str) -> httpx.Response:
    return http.post("/import-projects", content=body, params=params,
                     headers=headers(secret, media, **extra))


def json_body(prefix: str = "STG", batch_id: str = "digest-1", **extra: Any) -> bytes:
    rows = [project_row(f"{prefix}-{i}", deployment_specialist="ghost" if i % 3 else "ds.second")
            for i in range(12)]
    return json.dumps(batch(rows, batch_id=batch_id, **extra)).encode()


def last_request(db: psycopg.Connection[Any]) -> dict[str, Any]:
    row = db.execute("select * from import_requests order by id desc limit 1").fetchone()
    return {name: row[name] for name in RECORDED}


def forget_digests(db: psycopg.Connection[Any]) -> None:
    """What a batch staged before 0030 looks like."""
    db.execute("update staging_imports set request_digest = null")


def spoil_checksum(db: psycopg.Connection[Any]) -> str:
    """Make the staged batch unreachable by its checksum; returns the checksum."""
    checksum: str = db.execute("select batch_checksum from staging_imports").fetchone()[
        "batch_checksum"]
    db.execute("update staging_imports set batch_checksum = 'spoiled'")
    return checksum


def domain_counts(db: psycopg.Connection[Any]) -> dict[str, int]:
    tables = ("projects", "staging_imports", "import_anomalies", "project_org_memberships",
              "project_user_memberships", "import_problems")
    return {t: db.execute(f"select count(*) as n from {t}").fetchone()["n"] for t in tables}


def both_paths(http: httpx.Client, db: psycopg.Connection[Any], secret: str, body: bytes,
               **kwargs: Any) -> tuple[tuple[dict[str, Any], dict[str, Any]],
                                       tuple[dict[str, Any], dict[str, Any]]]:
    """The same request answered by the digest, then by the checksum (the digest forgotten):
    (answer, recorded request) of each."""
    by_digest = send(http, secret, body, **kwargs)
    assert by_digest.status_code == 200, by_digest.text
    digest_record = last_request(db)
    saved = db.execute("select id, request_digest from staging_imports").fetchall()
    forget_digests(db)
    by_checksum = send(http, secret, body, **kwargs)
    assert by_checksum.status_code == 200, by_checksum.text
    checksum_record = last_request(db)
    for row in saved:
        db.execute("update staging_imports set request_digest = %s where id = %s",
                   (row["request_digest"], row["id"]))
    return (by_digest.json(), digest_record), (by_checksum.json(), checksum_record)


def test_a_staged_batch_keeps_the_digest_of_its_request(http, db, tenant, directories) -> None:
    _, secret = tenant
    assert send(http, secret, json_body()).status_code == 200
    digest = db.execute("select request_digest from staging_imports").fetchone()["request_digest"]
    assert isinstance(digest, bytes) and len(digest) == 32
    before = domain_counts(db)
    assert send(http, secret, json_body()).json()["replayed"] is True
    assert domain_counts(db) == before  # a replay writes nothing, the digest included
    assert db.execute("select request_digest from staging_imports").fetchone()[
        "request_digest"] == digest


def test_json_digest_replay_answers_what_the_checksum_replay_answers(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    body = json_body(correlation_id="upstream-run-7")
    first = send(http, secret, body)
    assert first.status_code == 200, first.text
    (digest_answer, digest_record), (checksum_answer, checksum_record) = both_paths(
        http, db, secret, body)
    assert digest_answer == checksum_answer
    assert digest_answer["replayed"] is True
    assert digest_answer["batch_id"] == first.json()["batch_id"]
    assert digest_answer["correlation_id"] == first.json()["correlation_id"]
    assert digest_answer["metrics"] == first.json()["metrics"]
    assert digest_record == checksum_record
    assert digest_record["replayed"] is True and digest_record["rows"] == 12
    assert digest_record["request_batch_id"] == "digest-1"
    assert digest_record["source"] == "projects-import"
    assert digest_record["staging_id"] is not None


def test_csv_digest_replay_answers_what_the_checksum_replay_answers(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    params = {"tenant_id": "TELCO", "batch_id": "csv-digest", "source": "nightly"}
    first = send(http, secret, CSV_BODY, media="text/csv", params=params)
    assert first.status_code == 200, first.text
    (digest_answer, digest_record), (checksum_answer, checksum_record) = both_paths(
        http, db, secret, CSV_BODY, media="text/csv", params=params,
        **{"X-Correlation-Id": str(uuid.uuid4())})
    assert digest_answer == checksum_answer
    assert digest_answer["replayed"] is True
    assert digest_answer["metrics"] == first.json()["metrics"]
    assert digest_record == checksum_record
    assert digest_record["source"] == "nightly" and digest_record["rows"] == 2


def test_the_digest_answers_an_exact_resend_without_the_checksum(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    first = send(http, secret, json_body()).json()
    spoil_checksum(db)
    again = send(http, secret, json_body())
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is True and again.json()["batch_id"] == first["batch_id"]


def test_a_body_one_byte_apart_is_no_digest_replay_but_still_a_checksum_replay(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    body = json_body()
    first = send(http, secret, body).json()
    other = body + b" "  # the same JSON document, the same normalized rows
    checksum = spoil_checksum(db)
    conflict = send(http, secret, other)  # not found by its digest, nor by the spoiled checksum
    assert conflict.status_code == 422, conflict.text
    assert conflict.json()["violations"][0]["code"] == "batch_conflict"
    db.execute("update staging_imports set batch_checksum = %s", (checksum,))
    replay = send(http, secret, other)
    assert replay.status_code == 200, replay.text
    assert replay.json()["replayed"] is True and replay.json()["batch_id"] == first["batch_id"]
    assert replay.json()["metrics"] == first["metrics"]


def test_csv_with_other_envelope_parameters_is_no_digest_replay(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    params = {"tenant_id": "TELCO", "batch_id": "csv-envelope"}
    assert send(http, secret, CSV_BODY, media="text/csv", params=params).status_code == 200
    checksum = spoil_checksum(db)
    same = send(http, secret, CSV_BODY, media="text/csv", params=params)
    assert same.status_code == 200 and same.json()["replayed"] is True
    for changed in ({**params, "source": "other"}, {**params, "correlation_id": "c-2"},
                    {**params, "batch_id": "csv-envelope "}):
        refused = send(http, secret, CSV_BODY, media="text/csv", params=changed)
        assert refused.status_code == 422, (changed, refused.text)
        assert refused.json()["violations"][0]["code"] == "batch_conflict"
    # query parameters the CSV envelope does not read do not change the digest
    extra = send(http, secret, CSV_BODY, media="text/csv", params={**params, "unused": "1"})
    assert extra.status_code == 200 and extra.json()["replayed"] is True
    # nor is a JSON body with the same bytes the CSV's replay
    db.execute("update staging_imports set batch_checksum = %s", (checksum,))
    as_json = send(http, secret, CSV_BODY, params=params)
    assert as_json.status_code == 400, as_json.text


def test_a_paused_tenant_gets_423_for_an_exact_resend(http, db, tenant, directories) -> None:
    _, secret = tenant
    assert send(http, secret, json_body()).status_code == 200
    db.execute("select fn_tenant_pause('TELCO', 'maintenance')")
    before = domain_counts(db)
    paused = send(http, secret, json_body())
    assert paused.status_code == 423, paused.text
    assert paused.json()["error"]["code"] == "tenant_paused"
    assert domain_counts(db) == before
    assert last_request(db)["status"] == 423
    db.execute("select fn_tenant_resume('TELCO', 'ops')")
    assert send(http, secret, json_body()).json()["replayed"] is True


def test_correlation_id_from_the_header_or_generated_when_the_body_has_none(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    body = json_body()
    first = send(http, secret, body).json()
    header = str(uuid.uuid4())
    (digest_answer, digest_record), (checksum_answer, checksum_record) = both_paths(
        http, db, secret, body, **{"X-Correlation-Id": header.upper()})
    assert digest_answer["correlation_id"] == checksum_answer["correlation_id"] == header
    assert digest_record == checksum_record
    answers = [send(http, secret, body, **extra).json()["correlation_id"]
               for extra in ({}, {}, {"X-Correlation-Id": "not-a-uuid"})]
    assert len({*answers, first["correlation_id"], header}) == 5  # each request its own
    for answer in answers:
        uuid.UUID(answer)


def test_correlation_id_from_the_body_wins_over_the_header(http, db, tenant,
                                                           directories) -> None:
    _, secret = tenant
    given = str(uuid.uuid4())
    for correlation, expected in ((given, given),
                                  ("upstream-7", str(derive_uuid("TELCO", "upstream-7")))):
        body = json_body(prefix=correlation, batch_id=correlation, correlation_id=correlation)
        assert send(http, secret, body).json()["correlation_id"] == expected
        answer = send(http, secret, body, **{"X-Correlation-Id": str(uuid.uuid4())})
        assert answer.json()["replayed"] is True
        assert answer.json()["correlation_id"] == expected
        assert last_request(db)["correlation_id"] == uuid.UUID(expected)


def test_a_blank_correlation_id_gets_no_digest_and_ignores_the_header(
        http, db, tenant, directories) -> None:
    """The checksum path ignores the header when the body's correlation_id is blank but not
    empty; the digest could not tell, so such a batch is staged without one."""
    _, secret = tenant
    body = json_body(correlation_id="   ")
    assert send(http, secret, body).status_code == 200
    assert db.execute("select request_digest from staging_imports").fetchone()[
        "request_digest"] is None
    header = str(uuid.uuid4())
    replay = send(http, secret, body, **{"X-Correlation-Id": header}).json()
    assert replay["replayed"] is True and replay["correlation_id"] != header


def test_a_batch_staged_without_a_digest_is_replayed_by_its_checksum(
        http, db, tenant, directories) -> None:
    _, secret = tenant
    first = send(http, secret, json_body()).json()
    forget_digests(db)
    replay = send(http, secret, json_body())
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    assert replay.json()["metrics"] == first["metrics"]
    # a replay stages nothing, so the old row does not gain a digest
    assert db.execute("select request_digest from staging_imports").fetchone()[
        "request_digest"] is None


def test_a_batch_over_todays_row_limit_is_left_to_the_checksum_path(
        http, db, settings, make_server, tenant, directories) -> None:
    """Staged when 12 rows were allowed; with a limit of 3 the checksum path refuses the same
    request (422), so the digest must not answer it either."""
    _, secret = tenant
    assert send(http, secret, json_body()).status_code == 200
    small = make_server(settings.model_copy(update={"max_rows": 3}))
    with httpx.Client(base_url=small.url, timeout=30) as client:
        refused = send(client, secret, json_body())
    assert refused.status_code == 422, refused.text
    assert refused.json()["violations"][0]["code"] == "row_count"
