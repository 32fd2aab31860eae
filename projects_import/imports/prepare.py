"""An import request's CPU work, in one call that runs in a worker process (`offload.py`):
decode the body, validate the batch, compute its checksum and serialize what is staged.

The service's main process never materializes the rows: `prepare` answers a small picklable
`Prepared` — the envelope fields the route needs, and either the batch as `import_submit`
takes it (the rows already serialized for PostgreSQL) or the refusal as data (its code,
message, status and the violations an answer shows). This module imports only the contract
and the decoding, so a worker process stays small.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from projects_import.errors import ProjectsImportError
from projects_import.imports import decoding
from projects_import.imports.columns import row_columns
from projects_import.imports.contract import (
    MAX_VIOLATIONS,
    ImportRequest,
    Violation,
    upstream_fields,
    violations_summary,
)


@dataclass(frozen=True)
class StagedBatch:
    """A validated batch as `import_submit` takes it: its identity, its checksum and the
    payload already serialized (the raw payload as JSON bytes, the rows as array literals), so
    sending it costs the event loop no encoding."""

    tenant_id: str
    source: str
    batch_id: uuid.UUID
    request_batch_id: str | None
    correlation_id: uuid.UUID
    checksum: str
    row_count: int
    validation: dict[str, Any]
    columns: dict[str, str]  # the rows, one PostgreSQL array literal per column
    digest_answers_correlation: bool  # see digest_answers_correlation
    # None: the request's body as received is the raw payload (a JSON body is staged as it
    # is); the worker does not send it back, the route puts it in with `with_body`
    raw_json: bytes | None

    @classmethod
    def of(cls, request: ImportRequest, *, body_is_raw: bool = False) -> StagedBatch:
        if body_is_raw:
            raw_json = None
        elif request.raw_json is not None:
            raw_json = request.raw_json
        else:
            # json, not orjson: a payload json read may hold integers past 64 bits
            raw_json = json.dumps(request.raw).encode()
        return cls(tenant_id=request.tenant_id, source=request.source,
                   batch_id=request.batch_id, request_batch_id=request.request_batch_id,
                   correlation_id=request.correlation_id, checksum=request.checksum,
                   row_count=len(request.rows), validation=request.validation,
                   columns=row_columns(request.rows), raw_json=raw_json,
                   digest_answers_correlation=digest_answers_correlation(request))

    def with_body(self, body: bytes) -> StagedBatch:
        """The batch with its raw payload: the body, when the worker left it out."""
        return self if self.raw_json is not None else dataclasses.replace(self, raw_json=body)


def digest_answers_correlation(request: ImportRequest) -> bool:
    """Whether a digest replay of this request can answer the correlation id the checksum
    path would: yes when the body names one (then it is derived from it) or leaves it out,
    null or empty (then the X-Correlation-Id header or a new one, as the route adopts it); not
    for a blank-but-not-empty one, which ignores the header. Such a body gets no digest."""
    return (request.request_correlation_id is not None
            or not request.raw.get("correlation_id"))


class Refused(ProjectsImportError):
    """A refusal found in a worker process, answered exactly as the original error: the
    violations an answer shows (the first MAX_VIOLATIONS), their total and their summary."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message, code=refusal.code, http_status=refusal.http_status,
                         violations=refusal.violations,
                         violations_total=refusal.violations_total)
        self.summary = refusal.summary


@dataclass(frozen=True)
class Refusal:
    """A ProjectsImportError as data (an exception with keyword state does not pickle)."""

    code: str
    message: str
    http_status: int
    violations: tuple[Violation, ...] = ()
    violations_total: int = 0
    summary: dict[str, Any] | None = None

    @classmethod
    def of(cls, error: ProjectsImportError) -> Refusal:
        violations = error.violations
        return cls(code=error.code, message=error.message, http_status=error.http_status,
                   violations=tuple(violations[:MAX_VIOLATIONS]),
                   violations_total=error.violations_total,
                   summary=violations_summary(violations) if violations else None)

    def error(self) -> Refused:
        return Refused(self)


_NOTHING = Refusal("internal_error", "the request was not prepared", 500)
WRONG_TENANT = Refusal("unauthorized", "the bearer secret does not belong to this tenant_id",
                       401)


@dataclass(frozen=True)
class Envelope:
    """What the route takes from a decoded body before (and whether) it is valid."""

    correlation_id: str | None  # the caller's correlation id (body, else header) when a UUID
    upstream: dict[str, Any]  # history: the upstream batch id, source, row count as sent


@dataclass(frozen=True)
class Prepared:
    """The outcome of `prepare`: `batch` when valid, else `refusal`; `envelope` is None
    when the body could not be decoded."""

    envelope: Envelope | None
    batch: StagedBatch | None = None
    refusal: Refusal | None = None

    def accepted(self) -> StagedBatch:
        """The batch; the refusal raised as the original error would have been."""
        if self.batch is not None:
            return self.batch
        raise (self.refusal or _NOTHING).error()


def adopted_correlation_id(payload: Any, header: str | None) -> str | None:
    """The correlation id errors carry from here on: the body's, else the header's, when it
    is a UUID."""
    candidate = payload.get("correlation_id") if isinstance(payload, dict) else None
    candidate = candidate or header
    if isinstance(candidate, str):
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(candidate.strip()))
    return None


def prepare(media: str, body: bytes, query: Mapping[str, str], *, tenant_id: str,
            max_rows: int, correlation_header: str | None,
            generated_correlation_id: str) -> Prepared:
    """Decode, check the claimed tenant, validate and serialize one request's body."""
    try:
        payload, fast = decoding.read(media, body, query)
    except ProjectsImportError as exc:
        return Prepared(None, refusal=Refusal.of(exc))
    envelope = Envelope(adopted_correlation_id(payload, correlation_header),
                        upstream_fields(payload))
    claimed = payload.get("tenant_id") if isinstance(payload, dict) else None
    if isinstance(claimed, str) and claimed.strip() and claimed.strip() != tenant_id:
        return Prepared(envelope, refusal=WRONG_TENANT)
    generated = uuid.UUID(envelope.correlation_id or generated_correlation_id)
    try:
        request = decoding.parse(media, body, payload, fast=fast, max_rows=max_rows,
                                 generated_correlation_id=generated)
    except ProjectsImportError as exc:
        return Prepared(envelope, refusal=Refusal.of(exc))
    return Prepared(envelope, batch=StagedBatch.of(request, body_is_raw=fast))

