"""The request digest's composition (0030): what decides a batch is in it, nothing else."""

from __future__ import annotations

import hashlib

from projects_import.imports.decoding import CSV, JSON
from projects_import.imports.service import request_digest

BODY = b'{"tenant_id": "T", "rows": [{"stage_application": "S-1"}]}'


def test_the_composition_is_versioned_and_written_down() -> None:
    expected = hashlib.sha256(b'[1,1,"application/json",null]\n' + BODY).digest()
    assert request_digest(JSON, BODY, {}) == expected
    csv_head = b'[1,1,"text/csv",[["tenant_id","T"],["batch_id",""]]]\n'
    assert request_digest(CSV, b"x", {"batch_id": "", "tenant_id": "T", "other": "1"}) == (
        hashlib.sha256(csv_head + b"x").digest())


def test_a_json_body_ignores_the_query() -> None:
    assert request_digest(JSON, BODY, {"batch_id": "b"}) == request_digest(JSON, BODY, {})


def test_csv_envelope_parameters_count_and_absent_is_not_empty() -> None:
    base = request_digest(CSV, b"x", {"tenant_id": "T"})
    assert request_digest(CSV, b"x", {"tenant_id": "T", "unrelated": "1"}) == base
    assert request_digest(CSV, b"x", {"tenant_id": "T", "source": ""}) != base
    assert request_digest(CSV, b"x", {"tenant_id": "T", "correlation_id": "c"}) != base
    assert request_digest(CSV, b"x", {"tenant_id": "T "}) != base


def test_media_type_and_body_bytes_count() -> None:
    assert request_digest(CSV, BODY, {}) != request_digest(JSON, BODY, {})
    assert request_digest(JSON, BODY + b" ", {}) != request_digest(JSON, BODY, {})
