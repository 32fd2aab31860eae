"""The import contract (SPEC §4.1, §5.1, §5.2): validate and normalize a request payload.

Validation collects every violation (the API answers the first 100) instead of stopping at
the first, so an upstream operator can fix a file in one pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from projects_import.errors import ProjectsImportError
from projects_import.imports import limits
from projects_import.vocabulary import DEFAULT_SOURCE, MAX_STRING

MAX_COUNT = 2_147_483_647
CHECKSUM_VERSION = 1
MAX_VIOLATIONS = 100  # an answer shows the first ones, and their total

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
    # the body exactly as received when it is that JSON document: staged as it is, so the
    # payload is not encoded a second time
    raw_json: bytes | None = None
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


VIOLATION_EXAMPLES = 5
_MAX_CODES = 20


def violations_summary(violations: Sequence[Violation]) -> dict[str, Any]:
    """What the import history keeps of violations: counts by code and the first few
    locations; messages and values stay out."""
    by_code = Counter(v.code for v in violations)
    return {
        "by_code": dict(by_code.most_common(_MAX_CODES)),
        "first": [{"row_index": v.row_index, "field": v.field[:64], "code": v.code[:64]}
                  for v in violations[:VIOLATION_EXAMPLES]],
    }


def _short_text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or not storable(value):
        return None
    return value.strip()[:MAX_STRING]


def upstream_fields(payload: Any) -> dict[str, Any]:
    """The upstream batch id and source as sent, when they are text, and the row count (the
    import history keeps them for a rejected request too, so an operator can tell which of
    the upstream's batches it was)."""
    if not isinstance(payload, Mapping):
        return {}
    found: dict[str, Any] = {"request_batch_id": _short_text(payload.get("batch_id")),
                             "source": _short_text(payload.get("source"))}
    rows = payload.get("rows")
    if isinstance(rows, list):
        found["rows"] = len(rows)
    return {key: value for key, value in found.items() if value is not None}


class MalformedPayload(ProjectsImportError):
    """The body is not a JSON object with a `rows` array (HTTP 400)."""

    code = "invalid_body"


def batch_checksum(rows: list[dict[str, Any]]) -> str:
    """SHA-256 over the normalized rows sorted by stage_application.

    Each row is the compact JSON array of its CHECKSUM_FIELDS values in that order (as
    `json.dumps(..., ensure_ascii=False, separators=(",", ":"))` writes it; orjson writes the
    same bytes for strings, integers and nulls, ten times faster); rows are joined by newlines
    after a `v1` line. JSON quoting makes the composition unambiguous.
    """
    ordered = sorted(rows, key=lambda r: r["stage_application"])
    keys = [orjson.dumps([row[name] for name in CHECKSUM_FIELDS]) for row in ordered]
    digest = hashlib.sha256(f"v{CHECKSUM_VERSION}\n".encode())
    digest.update(b"\n".join(keys))
    if keys:
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
    return _request(payload, rows, tenant_id=tenant_id, source=source, batch_text=batch_text,
                    correlation_text=correlation_text,
                    generated_correlation_id=generated_correlation_id)


def _request(payload: dict[str, Any], rows: list[dict[str, Any]], *, tenant_id: str,
             source: str, batch_text: str | None, correlation_text: str | None,
             generated_correlation_id: uuid.UUID | None) -> ImportRequest:
    """The batch's identity (SPEC §5.2) around rows that passed the contract."""
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


# The fast path: the same contract, for the common shape of a valid batch.
_KNOWN_FIELDS = frozenset((*TEXT_FIELDS, *COUNT_FIELDS, DATE_FIELD))
_ENVELOPE_TEXT = ("tenant_id", "source", "batch_id", "correlation_id")
_CONTAINERS = (dict, list)


def parse_valid_payload(payload: Any, *, max_rows: int,
                        generated_correlation_id: uuid.UUID | None = None
                        ) -> ImportRequest | None:
    """The ImportRequest parse_payload would return, or None when this batch needs it.

    A valid batch of plain values (strings, integers, nulls, short digit strings, dates) is
    normalized here in one tight pass; anything else (a violation, a float, a nested unknown
    field, a 10-plus-digit count) answers None and the caller runs parse_payload, which alone
    words violations. The caller must know every string in the rows is storable (no NUL, no
    lone surrogate): a body orjson decoded without a `\\u0000` escape, or a NUL-free CSV body.
    """
    if type(payload) is not dict:
        return None
    rows_in = payload.get("rows")
    if type(rows_in) is not list or not 1 <= len(rows_in) <= max_rows:
        return None
    if len(payload) > limits.MAX_COLUMNS:
        return None
    envelope: dict[str, str | None] = {}
    for key, value in payload.items():
        if type(key) is not str or len(key) > limits.MAX_KEY_CHARS or not storable(key):
            return None
        if type(value) is str and (len(value) > limits.MAX_FIELD_CHARS or not storable(value)):
            return None
        if key in _ENVELOPE_TEXT:
            if value is not None and type(value) is not str:
                return None
            text = value.strip() if value is not None else ""
            if len(text) > MAX_STRING:
                return None
            envelope[key] = text or None
        elif key != "rows" and isinstance(value, _CONTAINERS):
            return None  # its depth is parse_payload's to judge
    tenant_id = envelope.get("tenant_id")
    if tenant_id is None:
        return None

    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    dates: set[str] = set()
    for raw in rows_in:
        row = _valid_row(raw, dates)
        if row is None or row["stage_application"] in seen:
            return None
        seen.add(row["stage_application"])
        rows.append(row)
    return _request(payload, rows, tenant_id=tenant_id,
                    source=envelope.get("source") or DEFAULT_SOURCE,
                    batch_text=envelope.get("batch_id"),
                    correlation_text=envelope.get("correlation_id"),
                    generated_correlation_id=generated_correlation_id)


def _valid_row(raw: Any, dates: set[str]) -> dict[str, Any] | None:
    """normalize_row's result for a row it would accept, or None. `dates` caches valid dates."""
    if type(raw) is not dict:
        return None
    if not raw.keys() <= _KNOWN_FIELDS:
        if len(raw) > limits.MAX_COLUMNS:
            return None
        for key, value in raw.items():
            if key in _KNOWN_FIELDS:
                continue
            if (isinstance(value, _CONTAINERS) or len(key) > limits.MAX_KEY_CHARS
                    or (type(value) is str and len(value) > limits.MAX_FIELD_CHARS)):
                return None
    row: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = raw.get(name)
        if value is None:
            row[name] = ""
        elif type(value) is str:
            text = value.strip()
            if len(text) > MAX_STRING:
                return None
            row[name] = text
        else:
            return None
    if not row["stage_application"]:
        return None
    for name in COUNT_FIELDS:
        value = raw.get(name)
        if value is None:
            row[name] = 0
        elif type(value) is int:
            if not 0 <= value <= MAX_COUNT:
                return None
            row[name] = value
        elif type(value) is str:
            text = value.strip()
            if not text:
                row[name] = 0
            elif len(text) <= 9 and text.isascii() and text.isdigit():
                row[name] = int(text)
            else:
                return None
        else:
            return None
    value = raw.get(DATE_FIELD)
    if value is None:
        row[DATE_FIELD] = None
    elif type(value) is str:
        text = value.strip()
        if not text:
            row[DATE_FIELD] = None
        elif text in dates:
            row[DATE_FIELD] = text
        elif _DATE.match(text) and _calendar_date(text):
            dates.add(text)
            row[DATE_FIELD] = text
        else:
            return None
    else:
        return None
    return row


def _calendar_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
