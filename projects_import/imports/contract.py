"""The import contract (SPEC §4.1, §5.1, §5.2): validate and normalize a request payload.

Validation collects every violation (the API answers the first 100) instead of stopping at
the first, so an upstream operator can fix a file in one pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from projects_import.errors import ProjectsImportError
from projects_import.imports import limits
from projects_import.vocabulary import DEFAULT_SOURCE, MAX_STRING

MAX_COUNT = 2_147_483_647
CHECKSUM_VERSION = 1

TEXT_FIELDS = (
    "stage_application",
    "delivery_partner",
    "developer_class",
    "relationship_manager",
    "deployment_specialist",
    "rm_preferred_username",
)
COUNT_FIELDS = ("residential", "commercial", "essential", "premises_count")
DATE_FIELD = "stage_application_created"

# The checksum's row composition (version 1). Changing it changes every checksum: bump
# CHECKSUM_VERSION and coordinate with operators (runbook, "Change control").
CHECKSUM_FIELDS = (
    "stage_application",
    "delivery_partner",
    "developer_class",
    "relationship_manager",
    "deployment_specialist",
    "residential",
    "commercial",
    "essential",
    "stage_application_created",
    "premises_count",
    "rm_preferred_username",
)

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DIGITS = re.compile(r"^[0-9]+$")
_NEGATIVE = re.compile(r"^-[0-9]+$")


@dataclass(frozen=True)
class Violation:
    row_index: int | None
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row_index": self.row_index,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class ImportRequest:
    """A validated, normalized batch, ready to stage and merge."""

    tenant_id: str
    source: str
    batch_id: uuid.UUID
    request_batch_id: str | None
    correlation_id: uuid.UUID
    request_correlation_id: str | None
    rows: list[dict[str, Any]]
    raw: dict[str, Any]
    checksum: str = field(init=False)

    def __post_init__(self) -> None:
        self.checksum = batch_checksum(self.rows)

    @property
    def validation(self) -> dict[str, Any]:
        """What goes into staging_imports.validation besides the metrics."""
        return {
            "request_batch_id": self.request_batch_id,
            "request_correlation_id": self.request_correlation_id,
            "checksum_version": CHECKSUM_VERSION,
            "row_count": len(self.rows),
        }


class ContractError(ProjectsImportError):
    """The payload breaks the contract; `violations` says where (HTTP 422)."""

    code = "contract_violation"
    http_status = 422
    violations: list[Violation]

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(_summary(violations), violations=violations)


def _summary(violations: list[Violation]) -> str:
    if not violations:
        return "the payload breaks the import contract"
    first = violations[0]
    where = f"row {first.row_index}, " if first.row_index is not None else ""
    return (f"{len(violations)} contract violation(s); first: {first.message} "
            f"({where}{first.field})")


class MalformedPayload(ProjectsImportError):
    """The body is not a JSON object with a `rows` array (HTTP 400)."""

    code = "invalid_body"


def batch_checksum(rows: list[dict[str, Any]]) -> str:
    """SHA-256 over the normalized rows sorted by stage_application.

    Each row is the compact JSON array of its CHECKSUM_FIELDS values in that order; rows are
    joined by newlines after a `v1` line. JSON quoting makes the composition unambiguous.
    """
    digest = hashlib.sha256(f"v{CHECKSUM_VERSION}\n".encode())
    for row in sorted(rows, key=lambda r: r["stage_application"]):
        key = json.dumps([row[name] for name in CHECKSUM_FIELDS], ensure_ascii=False,
                         separators=(",", ":"))
        digest.update(key.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def derive_uuid(tenant_id: str, value: str) -> uuid.UUID:
    """A stable UUIDv5 for a non-UUID identifier, scoped by tenant."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"projects-import:{tenant_id}:{value}")


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def identifier_uuid(tenant_id: str, value: str) -> uuid.UUID:
    """The uuid an upstream identifier (batch_id, correlation_id) stands for: itself when it
    is a uuid, else the tenant-scoped one derived from it. The one batch-id rule."""
    return _as_uuid(value) or derive_uuid(tenant_id, value)


def _text(value: Any, index: int | None, name: str, out: list[Violation]) -> str | None:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        out.append(Violation(index, name, "invalid_type", f"{name} must be a string"))
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    if not storable(text):
        out.append(Violation(index, name, "invalid_character", _UNSTORABLE.format(name=name)))
        return None
    if len(text) > MAX_STRING:
        out.append(Violation(index, name, "too_long",
                             f"{name} is {len(text)} characters; at most {MAX_STRING} allowed"))
        return None
    return text


_UNSTORABLE = "{name} contains a NUL character or invalid Unicode (a lone surrogate)"


def storable(text: str) -> bool:
    """PostgreSQL text and jsonb hold neither NUL nor lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MAX_DEPTH = 32


def _unstorable(value: Any, path: str, depth: int = 0) -> Iterator[Violation]:
    """Violations (row_index unset) for strings or keys of a decoded JSON value that cannot
    be stored, for nesting deeper than MAX_DEPTH, and for keys or values over the limits."""
    if depth > MAX_DEPTH:
        yield Violation(None, path, "too_deep", f"{path} is nested more than {MAX_DEPTH} deep")
    elif isinstance(value, str):
        if not storable(value):
            yield Violation(None, path, "invalid_character", _UNSTORABLE.format(name=path))
        elif len(value) > limits.MAX_FIELD_CHARS:
            yield Violation(None, path, "too_long", f"{path} is {len(value)} characters; at "
                                                    f"most {limits.MAX_FIELD_CHARS} allowed")
    elif isinstance(value, dict):
        if len(value) > limits.MAX_COLUMNS:
            yield Violation(None, path or "body", "too_many_keys",
                            f"{path or 'the body'} has {len(value)} keys; at most "
                            f"{limits.MAX_COLUMNS} allowed")
            return
        for key, item in value.items():
            name = limits.shown(key)
            where = f"{path}.{name}" if path else name
            if not storable(str(key)):
                yield Violation(None, where, "invalid_character", _UNSTORABLE.format(name=where))
            elif len(str(key)) > limits.MAX_KEY_CHARS:
                yield Violation(None, where, "too_long", f"the key {where} is {len(str(key))} "
                                f"characters; at most {limits.MAX_KEY_CHARS} allowed")
            else:
                yield from _unstorable(item, where, depth + 1)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _unstorable(item, f"{path}[{position}]", depth + 1)


def _count(value: Any, index: int, name: str, out: list[Violation]) -> int | None:
    if value is None:
        return 0
    if isinstance(value, bool):
        out.append(Violation(index, name, "not_integer", f"{name} must be an integer"))
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        if _NEGATIVE.match(text):
            out.append(Violation(index, name, "negative", f"{name} must not be negative"))
            return None
        if not _DIGITS.match(text):
            out.append(Violation(index, name, "not_integer",
                                 f"{name} must be a whole number or digit string"))
            return None
        if len(text) > limits.MAX_COUNT_CHARS:  # int() itself refuses > 4300 digits
            out.append(Violation(index, name, "too_long",
                                 f"{name} is {len(text)} digits; a count has at most "
                                 f"{limits.MAX_COUNT_CHARS}"))
            return None
        number = int(text)
    else:
        out.append(Violation(index, name, "not_integer", f"{name} must be an integer"))
        return None
    if number < 0:
        out.append(Violation(index, name, "negative", f"{name} must not be negative"))
        return None
    if number > MAX_COUNT:
        out.append(Violation(index, name, "out_of_range", f"{name} is larger than {MAX_COUNT}"))
        return None
    return number


def _date(value: Any, index: int, out: list[Violation]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        out.append(Violation(index, DATE_FIELD, "invalid_date", f"{DATE_FIELD} must be YYYY-MM-DD"))
        return None
    text = value.strip()
    if text == "":
        return None
    if not _DATE.match(text):
        out.append(Violation(index, DATE_FIELD, "invalid_date", f"{DATE_FIELD} must be YYYY-MM-DD"))
        return None
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        out.append(Violation(index, DATE_FIELD, "invalid_date",
                             f"{DATE_FIELD} is not a calendar date"))
        return None
    return text


def normalize_row(raw: Any, index: int, out: list[Violation]) -> dict[str, Any] | None:
    """Every field of one row normalized, None for a field with a violation (appended to `out`);
    None when the row is not an object."""
    if not isinstance(raw, dict):
        out.append(Violation(index, "row", "invalid_type", "each row must be a JSON object"))
        return None
    if len(raw) > limits.MAX_COLUMNS:
        out.append(Violation(index, "row", "too_many_keys",
                             f"the row has {len(raw)} keys; at most {limits.MAX_COLUMNS} "
                             "allowed"))
        return None
    known = (*TEXT_FIELDS, *COUNT_FIELDS, DATE_FIELD)
    extra = {key: value for key, value in raw.items() if key not in known}
    out.extend(dataclasses.replace(v, row_index=index) for v in _unstorable(extra, ""))
    row: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        row[name] = _text(raw.get(name), index, name, out)
    for name in COUNT_FIELDS:
        row[name] = _count(raw.get(name), index, name, out)
    row[DATE_FIELD] = _date(raw.get(DATE_FIELD), index, out)
    if row["stage_application"] == "":
        out.append(Violation(index, "stage_application", "required",
                             "stage_application is required and must not be blank"))
    return row


def _top_text(payload: dict[str, Any], name: str, out: list[Violation],
              *, required: bool) -> str | None:
    value = payload.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            out.append(Violation(None, name, "required", f"{name} is required"))
        return None
    if not isinstance(value, str):
        out.append(Violation(None, name, "invalid_type", f"{name} must be a string"))
        return None
    text = value.strip()
    if len(text) > MAX_STRING:
        out.append(Violation(None, name, "too_long", f"{name} is longer than {MAX_STRING}"))
        return None
    return text


def parse_payload(payload: Any, *, max_rows: int,
                  generated_correlation_id: uuid.UUID | None = None) -> ImportRequest:
    """Validate and normalize a decoded payload.

    Raises MalformedPayload for a body that is not an object with a `rows` array (400) and
    ContractError with every violation found (422).
    """
    if not isinstance(payload, dict):
        raise MalformedPayload("the body must be a JSON object")
    if "rows" not in payload:
        raise MalformedPayload("the body must have a `rows` array")
    rows_in = payload["rows"]
    if not isinstance(rows_in, list):
        raise MalformedPayload("`rows` must be an array")

    out: list[Violation] = []
    envelope = {key: value for key, value in payload.items() if key != "rows"}
    out.extend(_unstorable(envelope, ""))
    tenant_id = _top_text(payload, "tenant_id", out, required=True)
    source = _top_text(payload, "source", out, required=False) or DEFAULT_SOURCE
    batch_text = _top_text(payload, "batch_id", out, required=False)
    correlation_text = _top_text(payload, "correlation_id", out, required=False)

    if not 1 <= len(rows_in) <= max_rows:
        out.append(Violation(None, "rows", "row_count",
                             f"a batch has 1..{max_rows} rows; this one has {len(rows_in)}"))

    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(rows_in[: max_rows + 1]):
        before = len(out)
        row = normalize_row(raw, index, out)
        key = row["stage_application"] if row is not None else None
        if key:  # a repeat is reported even when the row has other violations too
            if key in seen:
                out.append(Violation(index, "stage_application", "duplicate",
                                     f"stage_application repeats row {seen[key]} of this batch"))
                continue
            seen[key] = index
        if row is not None and len(out) == before:
            rows.append(row)

    if out or tenant_id is None:
        raise ContractError(out)

    correlation_id = (identifier_uuid(tenant_id, correlation_text) if correlation_text
                      else generated_correlation_id or uuid.uuid4())
    request = ImportRequest(
        tenant_id=tenant_id,
        source=source,
        batch_id=uuid.UUID(int=0),
        request_batch_id=batch_text,
        correlation_id=correlation_id,
        request_correlation_id=correlation_text,
        rows=rows,
        raw=payload,
    )
    # no batch_id: the checksum names the batch, so a re-send is a replay
    request.batch_id = identifier_uuid(tenant_id, batch_text or f"checksum:{request.checksum}")
    return request
