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
from projects_import.imports.contract import ContractError, MalformedPayload, parse_payload
from tests.support.strategies import envelopes, rows


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
