"""Chunking: ≤ max_rows rows and ≤ max_bytes encoded per part, with deterministic ids."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from projects_import.client.chunker import ChunkError, Envelope, Limits, derive_batch_id, split
from projects_import.client.sender import parse_retry_after
from tests.client.conftest import rows

ENVELOPE = Envelope(tenant_id="TELCO", source="projects-import", batch_id="2025-08-18-export")
CID = str(uuid.uuid4())


def test_12000_rows_make_three_parts_in_file_order() -> None:
    chunks = list(split(rows(12_000), ENVELOPE, Limits()))
    assert [c.row_count for c in chunks] == [5000, 5000, 2000]
    assert [c.batch_id for c in chunks] == [f"2025-08-18-export-part-00{n}" for n in (1, 2, 3)]
    assert [c.first_row for c in chunks] == [1, 5001, 10001]
    body = json.loads(chunks[2].body(ENVELOPE, CID))
    assert body["batch_id"] == "2025-08-18-export-part-003"
    assert body["correlation_id"] == CID and body["tenant_id"] == "TELCO"
    assert body["rows"][0]["stage_application"] == "STG-000000010000"


def test_byte_limit_is_never_passed_and_each_part_is_full() -> None:
    data = rows(300)
    limits = Limits(max_bytes=20_000)
    chunks = list(split(data, ENVELOPE, limits))
    assert len(chunks) == 5
    sizes = [len(c.body(ENVELOPE, CID)) for c in chunks]
    assert all(size <= limits.max_bytes for size in sizes)
    for chunk, size in zip(chunks, sizes[:-1], strict=False):
        following = data[chunk.last_row]  # the next part's first row
        assert size + len(json.dumps(following, separators=(",", ":"))) + 1 > limits.max_bytes
    assert sum(c.row_count for c in chunks) == 300


def test_a_body_exactly_at_the_limit_fits() -> None:
    data = rows(3)
    exact = len(next(split(data, ENVELOPE, Limits())).body(ENVELOPE, CID))
    assert [c.row_count for c in split(data, ENVELOPE, Limits(max_bytes=exact))] == [3]
    assert [c.row_count for c in split(data, ENVELOPE, Limits(max_bytes=exact - 1))] == [2, 1]


def test_a_row_over_the_limit_alone_is_refused() -> None:
    data = rows(2)
    data[1]["developer_class"] = "x" * 5000
    with pytest.raises(ChunkError, match="row 2 alone makes a"):
        list(split(data, ENVELOPE, Limits(max_bytes=4096)))


def test_non_ascii_is_counted_in_utf8_bytes() -> None:
    data = rows(50, developer_class="Größe — ünïcode")
    for chunk in split(data, ENVELOPE, Limits(max_bytes=4096)):
        assert len(chunk.body(ENVELOPE, CID)) <= 4096


def test_derived_batch_id_follows_content_and_limits(tmp_path: Path) -> None:
    path = tmp_path / "Projects export (Aug).csv"
    first = derive_batch_id(path, "a" * 64, Limits())
    assert first == derive_batch_id(path, "a" * 64, Limits())
    assert first.startswith("Projects-export-Aug-")
    assert derive_batch_id(path, "b" * 64, Limits()) != first
    assert derive_batch_id(path, "a" * 64, Limits(max_bytes=1 << 20)) != first


def test_over_long_batch_id_is_refused() -> None:
    envelope = Envelope(tenant_id="TELCO", source="s", batch_id="b" * 250)
    with pytest.raises(ChunkError, match="leave room for the -part-NNN suffix"):
        list(split(rows(1), envelope, Limits()))


def test_retry_after_forms() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 8, 18, 7, 30, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Mon, 18 Aug 2025 07:30:12 GMT", now) == 12.0
    assert parse_retry_after("Mon, 18 Aug 2025 07:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
