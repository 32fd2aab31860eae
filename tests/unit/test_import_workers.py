"""The CPU work of an import runs in worker processes and comes back as a small result: the
batch already serialized, or the refusal as data, answered as the original error would be;
a worker that dies costs its request a retryable 503 and the pool is rebuilt."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Any

import pytest

from projects_import.imports import decoding
from projects_import.imports.columns import row_columns
from projects_import.imports.contract import (
    MAX_VIOLATIONS,
    ContractError,
    parse_payload,
    violations_summary,
)
from projects_import.imports.offload import WorkerUnavailable, workers
from projects_import.imports.prepare import WRONG_TENANT, Prepared, Refused, prepare

GENERATED = "00000000-0000-4000-8000-000000000001"


def row(key: str, **overrides: Any) -> dict[str, Any]:
    return {"stage_application": key, "delivery_partner": "Fulton Hogan",
            "residential": "12", "stage_application_created": "2025-04-01", **overrides}


def run_prepare(body: bytes, media: str = decoding.JSON, query: dict[str, str] | None = None,
                tenant_id: str = "TELCO", header: str | None = None) -> Prepared:
    async def go() -> Prepared:
        return await workers.run(prepare, media, body, query or {}, tenant_id=tenant_id,
                                 max_rows=5000, correlation_header=header,
                                 generated_correlation_id=GENERATED)

    return asyncio.run(go())


def test_a_valid_json_batch_comes_back_serialized_without_its_body() -> None:
    payload = {"tenant_id": "TELCO", "batch_id": "b-1", "source": "crm",
               "rows": [row(f"STG-{i}") for i in range(50)]}
    body = json.dumps(payload).encode()
    prepared = run_prepare(body)
    expected = parse_payload(payload, max_rows=5000,
                             generated_correlation_id=uuid.UUID(GENERATED))
    batch = prepared.accepted()
    assert batch.raw_json is None  # the body is the raw payload: not sent back
    assert batch.with_body(body).raw_json == body
    assert batch.columns == row_columns(expected.rows)
    assert (batch.checksum, batch.batch_id, batch.correlation_id, batch.row_count) == (
        expected.checksum, expected.batch_id, expected.correlation_id, 50)
    assert batch.validation == expected.validation
    assert prepared.envelope is not None
    assert prepared.envelope.upstream == {"request_batch_id": "b-1", "source": "crm", "rows": 50}
    assert prepared.envelope.correlation_id is None


def test_a_csv_batch_carries_its_payload_as_json() -> None:
    body = b"stage_application,residential\nC-1,4\nC-2,\n"
    prepared = run_prepare(body, decoding.CSV, {"tenant_id": "TELCO", "batch_id": "csv-1"})
    batch = prepared.accepted()
    assert batch.raw_json is not None
    assert json.loads(batch.raw_json) == {
        "rows": [{"stage_application": "C-1", "residential": "4"},
                 {"stage_application": "C-2", "residential": ""}],
        "tenant_id": "TELCO", "batch_id": "csv-1"}
    assert batch.columns["residential"] == "{4,0}"


def test_the_callers_correlation_id_is_adopted_from_the_body_or_the_header() -> None:
    mine = str(uuid.uuid4())
    body = json.dumps({"tenant_id": "TELCO", "correlation_id": mine,
                       "rows": [row("A")]}).encode()
    prepared = run_prepare(body)
    assert prepared.envelope is not None and prepared.envelope.correlation_id == mine
    assert str(prepared.accepted().correlation_id) == mine
    header = str(uuid.uuid4())
    plain = json.dumps({"tenant_id": "TELCO", "rows": [row("A")]}).encode()
    assert str(run_prepare(plain, header=header).accepted().correlation_id) == header
    assert str(run_prepare(plain).accepted().correlation_id) == GENERATED


def test_a_refusal_keeps_the_first_violations_their_total_and_summary() -> None:
    payload = {"tenant_id": "TELCO", "rows": [row(f"S-{i}", residential="-1")
                                              for i in range(150)]}
    prepared = run_prepare(json.dumps(payload).encode())
    assert prepared.batch is None and prepared.refusal is not None
    with pytest.raises(ContractError) as original:
        parse_payload(payload, max_rows=5000)
    with pytest.raises(Refused) as refused:
        prepared.accepted()
    error = refused.value
    assert (error.code, error.message, error.http_status) == (
        original.value.code, original.value.message, 422)
    assert error.violations == original.value.violations[:MAX_VIOLATIONS]
    assert error.violations_total == 150
    assert error.summary == violations_summary(original.value.violations)
    assert prepared.envelope is not None and prepared.envelope.upstream == {"rows": 150}


def test_an_undecodable_body_has_no_envelope() -> None:
    prepared = run_prepare(b"{not json")
    assert prepared.envelope is None
    assert prepared.refusal is not None and prepared.refusal.code == "invalid_json"
    assert prepared.refusal.http_status == 400


def test_a_body_for_another_tenant_is_refused_before_validation() -> None:
    body = json.dumps({"tenant_id": "OTHER", "rows": [{"stage_application": ""}]}).encode()
    prepared = run_prepare(body)
    assert prepared.refusal == WRONG_TENANT


def test_the_work_runs_in_another_process() -> None:
    async def go() -> int:
        return await workers.run(os.getpid)

    assert asyncio.run(go()) != os.getpid()
    assert os.getpid() not in workers.pids()


def test_a_worker_that_dies_answers_503_and_the_pool_is_rebuilt() -> None:
    async def go() -> None:
        with pytest.raises(WorkerUnavailable) as lost:
            await workers.run(os._exit, 3)
        assert lost.value.http_status == 503 and lost.value.code == "worker_unavailable"
        assert int(lost.value.headers["Retry-After"]) >= 1
        assert await workers.run(os.getpid) != os.getpid()

    asyncio.run(go())
    body = json.dumps({"tenant_id": "TELCO", "rows": [row("A")]}).encode()
    assert run_prepare(body).accepted().row_count == 1
