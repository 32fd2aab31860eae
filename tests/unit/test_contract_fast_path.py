"""The fast path (orjson decode, parse_valid_payload, orjson checksum) answers exactly as the
reference path does: the same normalized rows, identity and checksum, or it declines."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from typing import Any

import orjson
import pytest

from projects_import.imports.contract import (
    CHECKSUM_FIELDS,
    CHECKSUM_VERSION,
    ContractError,
    ImportRequest,
    MalformedPayload,
    batch_checksum,
    parse_payload,
    parse_valid_payload,
)
from tests.support import batch, project_row

GENERATED = uuid.UUID("00000000-0000-4000-8000-000000000001")


def reference(payload: Any, max_rows: int = 5000) -> ImportRequest | None:
    try:
        return parse_payload(payload, max_rows=max_rows, generated_correlation_id=GENERATED)
    except (ContractError, MalformedPayload):
        return None


def fast(payload: Any, max_rows: int = 5000) -> ImportRequest | None:
    return parse_valid_payload(payload, max_rows=max_rows, generated_correlation_id=GENERATED)


def same(a: ImportRequest, b: ImportRequest) -> None:
    assert a.rows == b.rows
    assert [list(r) for r in a.rows] == [list(r) for r in b.rows]  # key order too
    assert (a.tenant_id, a.source, a.batch_id, a.request_batch_id, a.correlation_id,
            a.request_correlation_id, a.checksum) == \
           (b.tenant_id, b.source, b.batch_id, b.request_batch_id, b.correlation_id,
            b.request_correlation_id, b.checksum)
    assert a.validation == b.validation


@pytest.mark.parametrize("payload", [
    batch([project_row("STG-1")]),
    batch([project_row(" STG-1 ", residential=" 45 ", commercial=5, essential=None,
                       premises_count="007", stage_application_created=" 2024-02-29 ")]),
    batch([project_row("STG-1", upstream_extra="kept", another=12, flag=True, nothing=None)]),
    batch([project_row("STG-1", delivery_partner="x" * 256, relationship_manager="  ")]),
    batch([{"stage_application": "only-the-key"}], batch_id=None),
    batch([project_row("STG-1")], batch_id=str(uuid.uuid4()), correlation_id="upstream-run-7"),
    batch([project_row("STG-1")], correlation_id=str(uuid.uuid4()), source="  ", note="hello"),
    batch([project_row(f"STG-{i}") for i in range(50)]),
    batch([project_row("é😀 \t", deployment_specialist="Ünïcode ")]),
])
def test_a_valid_batch_takes_the_fast_path_with_the_same_result(payload: dict[str, Any]) -> None:
    expected = reference(payload)
    got = fast(payload)
    assert expected is not None and got is not None
    same(got, expected)


@pytest.mark.parametrize("payload", [
    batch([project_row("STG-1", residential="-3")]),
    batch([project_row("STG-1", residential=2**31)]),
    batch([project_row("STG-1", residential="1234567890")]),  # 10 digits: the reference's
    batch([project_row("STG-1", essential=4.0)]),  # how orjson reads a big integer
    batch([project_row("STG-1", developer_class=12)]),
    batch([project_row("STG-1", premises_count=True)]),
    batch([project_row("STG-1", stage_application_created="2025-02-30")]),
    batch([project_row("STG-1", stage_application_created="20250401")]),
    batch([project_row("STG-1", delivery_partner="x" * 257)]),
    batch([project_row("  ")]),
    batch([project_row("A"), project_row("A")]),
    batch([project_row("STG-1", nested={"a": [1]})]),
    batch([project_row("STG-1")], meta={"deep": {}}),
    batch([project_row("STG-1")], tenant_id="  "),
    batch([project_row("STG-1")], source=5),
    batch([project_row("STG-1")], note="nul \x00 inside"),
    batch([project_row("STG-1", **{f"extra_{i}": i for i in range(300)})]),  # too many keys
    batch([project_row("STG-1", **{"k" * 300: "long key"})]),
    batch([project_row("STG-1", notes="n" * 70_000)]),  # past limits.MAX_FIELD_CHARS
    batch([project_row("STG-1")], **{f"meta_{i}": i for i in range(300)}),
    batch([]),
    batch([project_row(f"S{i}") for i in range(3)]) | {"rows": "nope"},
    ["not", "an", "object"],
    {"tenant_id": "TELCO"},
    batch(["row that is not an object"]),
])
def test_anything_unusual_is_left_to_the_reference_path(payload: Any) -> None:
    assert fast(payload) is None


def test_the_row_limit_is_left_to_the_reference_path() -> None:
    payload = batch([project_row(f"S{i}") for i in range(3)])
    assert fast(payload, max_rows=2) is None
    assert reference(payload, max_rows=2) is None


_VALUES: dict[str, list[Any]] = {
    "text": ["", " ", "Fulton Hogan", "  padded  ", "x" * 256, "x" * 257, None, 7, 7.5, True,
             ["list"], {"o": 1}, "tab\tinside", "ünï", "a\nb"],
    "count": [None, 0, 5, -1, 2**31 - 1, 2**31, "", " 12 ", "007", "-4", "4.5", "12a", "٣",
              "999999999", "1234567890", 4.0, True, "\uff11\uff12"],
    "date": [None, "", " ", "2025-04-01", " 2025-04-01 ", "2025-02-30", "01/04/2025",
             "2025-4-1", 20250401, "20250401", "2024-02-29"],
}


def _random_row(rng: random.Random, index: int) -> Any:
    if rng.random() < 0.02:
        return rng.choice(["text", 5, None, ["x"]])
    row: dict[str, Any] = {}
    for name in ("delivery_partner", "developer_class", "relationship_manager",
                 "deployment_specialist", "rm_preferred_username"):
        if rng.random() < 0.9:
            row[name] = rng.choice(_VALUES["text"])
    for name in ("residential", "commercial", "essential", "premises_count"):
        if rng.random() < 0.9:
            row[name] = rng.choice(_VALUES["count"])
    if rng.random() < 0.9:
        row["stage_application_created"] = rng.choice(_VALUES["date"])
    if rng.random() < 0.1:
        row["extra"] = rng.choice(["kept", 3, {"nested": True}, None])
    key = rng.choice([f"STG-{index}", f" STG-{index} ", f"STG-{index % 3}", "", None, 12])
    if key is not None:
        row["stage_application"] = key
    return row


def test_random_batches_get_the_same_answer_from_both_paths() -> None:
    """Either the fast path declines, or it returns what the reference returns; it never
    accepts a batch the reference refuses."""
    rng = random.Random(20261125)
    taken = 0
    for _ in range(3000):
        count = rng.choice([1, 1, 2, 3, 5])
        rows = [_random_row(rng, i) for i in range(count)]
        # bias towards valid batches so the fast path is exercised, not only declined
        if rng.random() < 0.5:
            rows = [project_row(f"STG-{i}", **{k: v for k, v in r.items()
                                               if k != "stage_application"
                                               and rng.random() < 0.15})
                    if isinstance(r, dict) else project_row(f"STG-{i}")
                    for i, r in enumerate(rows)]
        payload = batch(rows, batch_id=rng.choice([None, "b-1", str(uuid.uuid4())]))
        expected = reference(payload)
        got = fast(payload)
        if got is not None:
            assert expected is not None, payload
            same(got, expected)
            taken += 1
    assert taken > 300  # the comparison covered many accepted batches


def _reference_checksum(rows: list[dict[str, Any]]) -> str:
    """Version 1 of the composition as first written (json.dumps per row)."""
    digest = hashlib.sha256(f"v{CHECKSUM_VERSION}\n".encode())
    for row in sorted(rows, key=lambda r: r["stage_application"]):
        key = json.dumps([row[name] for name in CHECKSUM_FIELDS], ensure_ascii=False,
                         separators=(",", ":"))
        digest.update(key.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def test_the_checksum_is_byte_for_byte_the_version_1_composition() -> None:
    rng = random.Random(7)
    alphabet = ['"', "\\", "/", "\n", "\r", "\t", "\b", "\f", "\x01", "\x1f", "\x7f", "\u2028",
                "é", "😀", "a", " ", "\u00a0", "'", "<", "&"]
    for _ in range(300):
        rows = []
        for i in range(rng.randint(1, 6)):
            row: dict[str, Any] = {name: "".join(rng.choices(alphabet, k=rng.randint(0, 8)))
                                   for name in CHECKSUM_FIELDS}
            row["stage_application"] = f"K{i}-" + row["stage_application"]
            for name in ("residential", "commercial", "essential", "premises_count"):
                row[name] = rng.choice([0, 1, 2_147_483_647])
            row["stage_application_created"] = rng.choice([None, "2025-04-01"])
            rows.append(row)
        assert batch_checksum(rows) == _reference_checksum(rows)


def test_orjson_reads_a_valid_body_as_json_does() -> None:
    body = json.dumps(batch([project_row("STG-1", residential=12, extra=None),
                             project_row("STG-2", deployment_specialist="ünï")]),
                      ensure_ascii=False).encode()
    assert orjson.loads(body) == json.loads(body)
