"""Property: whatever JSON a caller sends, validation answers a result or a contract error
whose body can be rendered; never an exception that would become a 500."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from projects_import.api.errors import error_body
from projects_import.imports import limits
from projects_import.imports.contract import (
    COUNT_FIELDS,
    DATE_FIELD,
    TEXT_FIELDS,
    ContractError,
    MalformedPayload,
    parse_payload,
)

FIELDS = (*TEXT_FIELDS, *COUNT_FIELDS, DATE_FIELD)
# Text that PostgreSQL and a UTF-8 response cannot hold, besides ordinary text.
awkward = st.sampled_from(["\ud800", "\udfff", "\x00", " ", "-1", "١٢", "2025-02-30", "1e3"])
texts = st.lists(st.one_of(st.characters(), awkward), max_size=12).map("".join)
# Digit strings past Python's 4300-digit int() limit, and long runs of zeros.
long_digits = st.builds(lambda digit, n, tail: digit * n + tail, st.sampled_from("09"),
                        st.integers(0, 6000), st.sampled_from(["", "7"]))
keys = st.one_of(st.sampled_from(FIELDS), texts,
                 st.integers(1, 400).map(lambda n: "k" * n))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), texts, long_digits)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)), max_leaves=8)
rows = st.dictionaries(keys, values, max_size=8).map(
    lambda row: {"stage_application": "STG-1", **row})
envelopes = st.dictionaries(st.one_of(keys, st.sampled_from(
    ["tenant_id", "batch_id", "source", "correlation_id"])), values, max_size=4)


def renders(violations: Any) -> None:
    response = JSONResponse(error_body("contract_violation", "m", "c", violations))
    json.loads(response.body)


@settings(max_examples=250, deadline=None, database=None)
@given(rows=st.lists(rows, min_size=0, max_size=4), envelope=envelopes)
def test_no_payload_escapes_validation(rows: list[dict[str, Any]],
                                       envelope: dict[str, Any]) -> None:
    payload = {**envelope, "tenant_id": envelope.get("tenant_id", "TELCO"), "rows": rows}
    try:
        request = parse_payload(payload, max_rows=5000)
    except ContractError as exc:
        assert exc.violations
        renders(exc.violations)
    except MalformedPayload:
        pass
    else:
        assert len(request.checksum) == 64
        json.dumps(request.rows).encode("utf-8")


def test_counts_past_the_int_conversion_limit_are_violations() -> None:
    for value in ("9" * 5000, "0" * 4400):
        payload = {"tenant_id": "T", "rows": [
            {"stage_application": "a", "residential": value, "premises_count": value}]}
        try:
            parse_payload(payload, max_rows=10)
        except ContractError as exc:
            assert {(v.field, v.code) for v in exc.violations} == {
                ("residential", "too_long"), ("premises_count", "too_long")}
        else:
            raise AssertionError(f"{len(value)} digits were accepted")


def test_lone_surrogate_keys_are_named_in_a_renderable_violation() -> None:
    payload = {"tenant_id": "T", "\ud800env": 1,
               "rows": [{"stage_application": "a", "x\udfff": "1"}]}
    try:
        parse_payload(payload, max_rows=10)
    except ContractError as exc:
        assert {(v.row_index, v.field) for v in exc.violations} == {
            (None, "\\ud800env"), (0, "x\\udfff")}
        renders(exc.violations)
    else:
        raise AssertionError("lone surrogates were accepted")


def test_header_checks_are_linear() -> None:
    assert limits.repeated(["a", "b", "a", "c", "b"]) == ["a", "b"]
    assert limits.repeated(f"c{i}" for i in range(100_000)) == []
    assert limits.shown("x" * 100).endswith("…")
    assert len(limits.shown("x" * 100)) == limits.SHOWN_CHARS + 1
