"""Decode an import request's body — JSON, or CSV with the envelope in query parameters — into
the payload the contract validates. Refuses what PostgreSQL could not store (NaN, huge numbers)
and CSV rows whose cells have shifted, before any validation."""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from projects_import.errors import ProjectsImportError
from projects_import.imports import limits
from projects_import.imports.contract import (
    ContractError,
    ImportRequest,
    Violation,
    parse_payload,
    parse_valid_payload,
)

JSON = "application/json"
CSV = "text/csv"
ENVELOPE_PARAMETERS = ("tenant_id", "batch_id", "source", "correlation_id")


class BodyError(ProjectsImportError):
    """The body cannot be read as the media type it claims (HTTP 400)."""


def media_type(content_type: str | None) -> str:
    """JSON (also when no Content-Type is sent) or CSV."""
    if content_type is None:
        return JSON
    media = content_type.split(";", 1)[0].strip().lower()
    if media in (JSON, CSV):
        return media
    raise BodyError(f"Content-Type {media!r} is not accepted; send application/json "
                    "(or text/csv with tenant_id and batch_id as query parameters)",
                    code="unsupported_content_type")


def decode(media: str, body: bytes, query: Mapping[str, str]) -> Any:
    """The payload of a body of `media` type; CSV takes its envelope from `query`."""
    return decode_json(body) if media == JSON else decode_csv(body, query)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (PostgreSQL cannot store it)")


def decode_json(body: bytes) -> Any:
    def invalid(message: str) -> BodyError:
        return BodyError(message, code="invalid_json")

    try:
        return json.loads(body, parse_float=_finite_float, parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise invalid("the body is not UTF-8 encoded JSON") from exc
    except json.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON: {exc.msg} at line {exc.lineno} "
                      f"column {exc.colno}") from exc
    except RecursionError as exc:
        raise invalid("the JSON is nested too deeply") from exc
    except ValueError as exc:  # NaN/Infinity, huge floats, integers of thousands of digits
        raise invalid(f"the body is not valid JSON: {exc}") from exc


def decode_csv(body: bytes, query: Mapping[str, str]) -> dict[str, Any]:
    def invalid(message: str) -> BodyError:
        return BodyError(message, code="invalid_csv")

    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise invalid("the CSV body is not UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
        if "stage_application" not in header:
            raise invalid("the CSV needs a header row with at least a stage_application column")
        if len(header) > limits.MAX_COLUMNS:
            raise invalid(f"the CSV header has {len(header)} columns; at most "
                          f"{limits.MAX_COLUMNS} allowed")
        repeated = limits.repeated(header)
        if repeated:
            raise invalid("the CSV header repeats column(s) "
                          f"{', '.join(limits.shown(name) for name in repeated[:20])}")
        rows: list[dict[str, str]] = []
        shifted: list[Violation] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            if len(cells) > len(header):
                # more cells than columns: an unquoted comma has shifted the values
                shifted.append(Violation(len(rows), "row", "too_many_cells",
                                         f"the row has {len(cells)} cells; the header has "
                                         f"{len(header)} columns"))
            rows.append(dict(zip(header, cells, strict=False)))
    except csv.Error as exc:
        raise invalid(f"the CSV cannot be read near line {reader.line_num}: {exc}") from exc
    if shifted:
        raise ContractError(shifted)
    payload: dict[str, Any] = {"rows": rows}
    payload.update({name: query[name] for name in ENVELOPE_PARAMETERS if name in query})
    return payload


def read(media: str, body: bytes, query: Mapping[str, str]) -> tuple[Any, bool]:
    """The payload of a body, and whether it is fast_json's reading (then `parse` may take
    the fast path)."""
    fast = fast_json(body) if media == JSON else None
    if fast is not None:
        return fast, True
    return decode(media, body, query), False


def fast_json(body: bytes) -> Any | None:
    """orjson's reading of a UTF-8 JSON body, or None: then `decode_json` decides and words the
    error. orjson reads integers past 64 bits as floats, so its result only feeds
    parse_valid_payload (which takes no floats) and the checks before it."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def parse(media: str, body: bytes, payload: Any, *, fast: bool, max_rows: int,
          generated_correlation_id: uuid.UUID) -> ImportRequest:
    """The validated batch of a decoded body (`fast`: `payload` is fast_json's reading).

    The fast path (parse_valid_payload) answers a valid batch of plain values; anything it does
    not vouch for goes through parse_payload on json's reading, which words every violation.
    A JSON body is staged as received (`raw_json`), so the payload is not encoded again."""
    # every string in the rows is storable: orjson refuses lone surrogates, and NUL can only
    # come as a \u0000 escape (JSON) or a NUL byte (CSV)
    storable_rows = (b"\\u0000" not in body if fast
                     else media == CSV and b"\x00" not in body)
    batch = None
    if storable_rows:
        batch = parse_valid_payload(payload, max_rows=max_rows,
                                    generated_correlation_id=generated_correlation_id)
    if batch is None:
        exact = decode_json(body) if fast else payload
        batch = parse_payload(exact, max_rows=max_rows,
                              generated_correlation_id=generated_correlation_id)
    if fast:
        batch.raw_json = body
    return batch
