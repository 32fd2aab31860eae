"""The import contract: normalization, violations, batch identity and the checksum."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from projects_import.imports.contract import (
    CHECKSUM_FIELDS,
    ContractError,
    MalformedPayload,
    batch_checksum,
    derive_uuid,
    parse_payload,
)
from tests.support import batch, project_row


def parse(payload: Any, max_rows: int = 5000):
    return parse_payload(payload, max_rows=max_rows)


def violations_of(payload: Any, max_rows: int = 5000) -> list[tuple[Any, str, str]]:
    with pytest.raises(ContractError) as caught:
        parse(payload, max_rows)
    return [(v.row_index, v.field, v.code) for v in caught.value.violations]


def test_strings_are_trimmed_and_counts_normalized() -> None:
    row = project_row(" STG-1 ", delivery_partner="  Fulton Hogan ", residential=" 45 ",
                      commercial=5, essential="", premises_count=None,
                      stage_application_created=" ")
    del row["developer_class"]
    request = parse(batch([row]))
    normalized = request.rows[0]
    assert normalized["stage_application"] == "STG-1"
    assert normalized["delivery_partner"] == "Fulton Hogan"
    assert normalized["developer_class"] == ""
    assert (normalized["residential"], normalized["commercial"], normalized["essential"],
            normalized["premises_count"]) == (45, 5, 0, 0)
    assert normalized["stage_application_created"] is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"stage_application": "  "}, (0, "stage_application", "required")),
        ({"stage_application": None}, (0, "stage_application", "required")),
        ({"residential": "-3"}, (0, "residential", "negative")),
        ({"commercial": -1}, (0, "commercial", "negative")),
        ({"essential": "4.5"}, (0, "essential", "not_integer")),
        ({"essential": 4.5}, (0, "essential", "not_integer")),
        ({"premises_count": True}, (0, "premises_count", "not_integer")),
        ({"residential": "12a"}, (0, "residential", "not_integer")),
        ({"residential": 2**31}, (0, "residential", "out_of_range")),
        ({"stage_application_created": "2025-02-30"}, (0, "stage_application_created",
                                                       "invalid_date")),
        ({"stage_application_created": "01/04/2025"}, (0, "stage_application_created",
                                                       "invalid_date")),
        ({"delivery_partner": "x" * 257}, (0, "delivery_partner", "too_long")),
        ({"relationship_manager": {"name": "x"}}, (0, "relationship_manager", "invalid_type")),
    ],
)
def test_each_contract_violation_names_row_field_and_code(
        overrides: dict[str, Any], expected: tuple[Any, str, str]) -> None:
    assert violations_of(batch([project_row("STG-1", **overrides)])) == [expected]


def test_a_256_character_string_is_allowed() -> None:
    request = parse(batch([project_row("STG-1", delivery_partner="x" * 256)]))
    assert len(request.rows[0]["delivery_partner"]) == 256


def test_every_violation_is_reported_with_its_row() -> None:
    rows = [project_row("A"), project_row("B", residential="-1"), "not an object",
            project_row("A"), project_row("", essential="x")]
    found = violations_of(batch(rows))
    assert found == [
        (1, "residential", "negative"),
        (2, "row", "invalid_type"),
        (3, "stage_application", "duplicate"),
        (4, "essential", "not_integer"),
        (4, "stage_application", "required"),
    ]


def test_a_repeated_stage_application_is_reported_beside_other_violations() -> None:
    rows = [project_row("A", residential="-1"), project_row(" A ", developer_class="x" * 300),
            project_row("B")]
    assert violations_of(batch(rows)) == [
        (0, "residential", "negative"),
        (1, "developer_class", "too_long"),
        (1, "stage_application", "duplicate"),
    ]


@pytest.mark.parametrize("count", [0, 6])
def test_row_count_must_be_within_bounds(count: int) -> None:
    rows = [project_row(f"STG-{i}") for i in range(count)]
    assert violations_of(batch(rows), max_rows=5) == [(None, "rows", "row_count")]


def test_tenant_id_is_required() -> None:
    payload = batch([project_row("A")])
    del payload["tenant_id"]
    assert violations_of(payload) == [(None, "tenant_id", "required")]


@pytest.mark.parametrize("payload", [[], "rows", {"tenant_id": "T"}, {"rows": {"a": 1}}])
def test_malformed_structure_is_not_a_contract_violation(payload: Any) -> None:
    with pytest.raises(MalformedPayload):
        parse(payload)


def test_uuid_batch_id_is_kept() -> None:
    given = str(uuid.uuid4())
    request = parse(batch([project_row("A")], batch_id=given))
    assert str(request.batch_id) == given


def test_non_uuid_batch_id_becomes_deterministic_uuid5_per_tenant() -> None:
    one = parse(batch([project_row("A")], batch_id="2025-08-18-batch-001"))
    two = parse(batch([project_row("B")], batch_id="2025-08-18-batch-001"))
    other = parse(batch([project_row("A")], tenant_id="OTHER", batch_id="2025-08-18-batch-001"))
    assert one.batch_id == two.batch_id == derive_uuid("TELCO", "2025-08-18-batch-001")
    assert one.batch_id.version == 5
    assert other.batch_id != one.batch_id
    assert one.validation["request_batch_id"] == "2025-08-18-batch-001"


def test_missing_batch_id_is_derived_from_the_rows() -> None:
    first = parse(batch([project_row("A")], batch_id=None))
    again = parse(batch([project_row("A")], batch_id=None))
    changed = parse(batch([project_row("A", residential=1)], batch_id=None))
    assert first.batch_id == again.batch_id != changed.batch_id


def test_correlation_id_is_kept_or_generated() -> None:
    given = str(uuid.uuid4())
    assert str(parse(batch([project_row("A")], correlation_id=given)).correlation_id) == given
    generated = parse(batch([project_row("A")])).correlation_id
    assert generated != parse(batch([project_row("A")])).correlation_id


def test_checksum_ignores_row_order_and_unknown_keys() -> None:
    rows = [project_row(f"STG-{i}") for i in range(5)]
    shuffled = [rows[3], rows[0], rows[4], rows[1], rows[2]]
    extra = [dict(r, upstream_note="ignored") for r in rows]
    base = parse(batch(rows)).checksum
    assert parse(batch(shuffled)).checksum == base
    assert parse(batch(extra)).checksum == base


def test_checksum_is_over_normalized_values() -> None:
    assert (parse(batch([project_row("A", residential="45", delivery_partner=" X ")])).checksum
            == parse(batch([project_row("A", residential=45, delivery_partner="X")])).checksum)


@pytest.mark.parametrize("name", CHECKSUM_FIELDS)
def test_any_field_change_changes_the_checksum(name: str) -> None:
    base = parse(batch([project_row("A"), project_row("B")]))
    value: Any = {"residential": 46, "commercial": 6, "essential": 1, "premises_count": 9,
                  "stage_application_created": "2025-04-02"}.get(name, "changed")
    changed = parse(batch([project_row("A", **{name: value}), project_row("B")]))
    assert changed.checksum != base.checksum


def test_checksum_has_no_field_boundary_ambiguity() -> None:
    left = [{"stage_application": "A", "delivery_partner": "x,y", "developer_class": ""}]
    right = [{"stage_application": "A", "delivery_partner": "x", "developer_class": "y"}]
    assert parse(batch(left)).checksum != parse(batch(right)).checksum


def test_checksum_function_is_stable() -> None:
    rows = parse(batch([project_row("A")])).rows
    assert batch_checksum(rows) == batch_checksum(list(reversed(rows)))
    assert len(batch_checksum(rows)) == 64


@pytest.mark.parametrize("bad", ["F7\x00x", "SUR\ud800"])
def test_strings_postgresql_cannot_store_are_violations(bad: str) -> None:
    assert violations_of(batch([project_row(bad)])) == [
        (0, "stage_application", "invalid_character")]
    assert violations_of(batch([project_row("A", upstream_note={"deep": [bad]})])) == [
        (0, "upstream_note.deep[0]", "invalid_character")]
    assert violations_of(batch([project_row("A")], source_system=bad)) == [
        (None, "source_system", "invalid_character")]


def test_only_ascii_digits_are_counts() -> None:
    assert violations_of(batch([project_row("A", residential="\u0663")])) == [
        (0, "residential", "not_integer")]
    assert violations_of(batch([project_row("A", stage_application_created="\u0662025-01-01")])
                         ) == [(0, "stage_application_created", "invalid_date")]
