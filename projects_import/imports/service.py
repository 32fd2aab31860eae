"""The import manager: run a validated batch through PostgreSQL (stage, detect replays, merge:
one transaction), re-merge a staged batch, and record the outcome of each import request."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from psycopg.types.json import Jsonb

from projects_import.db.connection import Database
from projects_import.errors import InvalidInput, NotFound, ProjectsImportError
from projects_import.imports.columns import row_columns
from projects_import.imports.contract import (
    CHECKSUM_VERSION,
    ContractError,
    ImportRequest,
    Violation,
    identifier_uuid,
    parse_payload,
)
from projects_import.imports.decoding import CSV, ENVELOPE_PARAMETERS
from projects_import.imports.offload import run_cpu_bound

METRIC_FIELDS = (
    "inserted_projects",
    "updated_projects",
    "unchanged_projects",
    "org_memberships_upserted",
    "user_memberships_upserted",
    "anomalies_count",
    "staging_id",
)

# The request digest's composition (see request_digest). Bump it whenever what a body decodes
# to, or how it is judged, changes without a new CHECKSUM_VERSION: old digests then stop
# answering and their requests take the checksum path.
REQUEST_DIGEST_VERSION = 1


class ImportBusy(ProjectsImportError):
    """Another import for the tenant holds the lock (HTTP 429)."""

    code = "import_in_progress"
    http_status = 429

    def __init__(self, tenant_id: str, retry_after_seconds: int | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        when = (f"retry after {retry_after_seconds} s" if retry_after_seconds is not None
                else "try again shortly")
        retry = {"Retry-After": str(retry_after_seconds)} if retry_after_seconds else {}
        super().__init__(
            f"another import for this tenant is in progress; {when} (concurrency is 1 per "
            "tenant)", headers={**retry, **(headers or {})})
        self.tenant_id = tenant_id


class TenantPaused(ProjectsImportError):
    """The tenant is quarantined (`tenant pause`): nothing is staged (HTTP 423)."""

    code = "tenant_paused"
    http_status = 423

    def __init__(self, tenant_id: str, reason: str, paused_at: str) -> None:
        try:  # jsonb's ISO text, shown as "… UTC"
            moment = dt.datetime.fromisoformat(paused_at).astimezone(dt.UTC)
            paused_at = f"{moment:%Y-%m-%d %H:%M:%S} UTC"
        except ValueError:
            pass
        super().__init__(
            f"tenant {tenant_id} is paused (quarantined) since {paused_at}: {reason}. Nothing "
            "was staged; imports are refused until an operator resumes the tenant (do not "
            "retry until then)")
        self.tenant_id = tenant_id
        self.reason = reason
        self.paused_at = paused_at


class BatchNotFound(NotFound):
    """No staged batch with that id for that tenant."""


@dataclass
class ImportResult:
    batch_id: uuid.UUID
    correlation_id: uuid.UUID
    tenant_id: str
    replayed: bool
    metrics: dict[str, Any]
    merge_ms: float = field(default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": str(self.batch_id),
            "correlation_id": str(self.correlation_id),
            "tenant_id": self.tenant_id,
            "replayed": self.replayed,
            "metrics": self.metrics,
        }


@dataclass(frozen=True)
class ImportRequestRecord:
    """What import_requests keeps of one request: figures, never the payload."""

    tenant_id: str
    correlation_id: str
    status: int
    batch_id: str | None = None
    error_code: str | None = None
    rows: int | None = None
    parse_ms: float | None = None
    merge_ms: float | None = None
    bytes: int | None = None
    replayed: bool = False
    request_batch_id: str | None = None
    source: str | None = None
    staging_id: str | None = None
    inserted_projects: int | None = None
    updated_projects: int | None = None
    unchanged_projects: int | None = None
    org_memberships_upserted: int | None = None
    user_memberships_upserted: int | None = None
    anomalies_count: int | None = None
    violations_total: int | None = None
    # counts by code and the first few {row_index, field, code}: never values
    violations_summary: dict[str, Any] | None = None


def _already_json(text: str | bytes) -> str | bytes:
    return text


def _prepared_jsonb(value: Any) -> Jsonb:
    """Serialized now (in a worker thread: see `_submit`), not when psycopg sends it (on the
    event loop)."""
    return Jsonb(json.dumps(value), dumps=_already_json)


def submit_params(request: ImportRequest) -> dict[str, Any]:
    """The parameters of `import_submit` for a validated batch (the large values already
    serialized: the raw body as received, the rows as one array literal per column)."""
    return {
        "tenant_id": request.tenant_id,
        "source": request.source,
        "batch_id": request.batch_id,
        "batch_checksum": request.checksum,
        "checksum_version": CHECKSUM_VERSION,
        "raw": _staged_raw(request),
        "correlation_id": request.correlation_id,
        "validation": Jsonb(request.validation),
        **row_columns(request.rows),
    }


def _public_metrics(raw: dict[str, Any]) -> dict[str, Any]:
    """The documented metrics first, then any extra figures the merge reported."""
    metrics = {name: raw.get(name, 0) for name in METRIC_FIELDS}
    metrics["staging_id"] = str(raw["staging_id"]) if raw.get("staging_id") else None
    metrics.update({k: v for k, v in raw.items() if k not in metrics})
    return metrics


def _staged_raw(request: ImportRequest) -> Jsonb:
    """The raw payload for staging: the received JSON body as it is when there is one (no
    second encode); else json's encoding (a payload json read may hold integers past 64 bits,
    which orjson does not write)."""
    if request.raw_json is not None:
        return Jsonb(request.raw_json, dumps=_already_json)
    return _prepared_jsonb(request.raw)


@dataclass(frozen=True)
class ReceivedRequest:
    """An import request as received, before its body is decoded: what its digest covers,
    and what decides the answer's correlation id when the body names none."""

    media: str
    body: bytes
    query: Mapping[str, str]
    header_correlation_id: str | None
    generated_correlation_id: uuid.UUID


def request_digest(media: str, body: bytes, query: Mapping[str, str]) -> bytes:
    """SHA-256 of everything that decides the batch a request stands for: a compact JSON line
    `[digest version, checksum version, media type, CSV envelope or null]`, then the body as
    received (gunzipped). The CSV envelope is the `[name, value]` pairs of the query parameters
    decoding reads (ENVELOPE_PARAMETERS, in that order, the ones present); a JSON body ignores
    the query. JSON quoting and the newline keep the composition unambiguous."""
    envelope = ([[name, query[name]] for name in ENVELOPE_PARAMETERS if name in query]
                if media == CSV else None)
    digest = hashlib.sha256(
        orjson.dumps([REQUEST_DIGEST_VERSION, CHECKSUM_VERSION, media, envelope]))
    digest.update(b"\n")
    digest.update(body)
    return digest.digest()


def digest_answers_correlation(request: ImportRequest) -> bool:
    """Whether a digest replay of this request can answer the correlation id the checksum
    path would: yes when the body names one (then it is derived from it) or leaves it out,
    null or empty (then the X-Correlation-Id header or a new one, as the route adopts it); not
    for a blank-but-not-empty one, which ignores the header. Such a body gets no digest."""
    return (request.request_correlation_id is not None
            or not request.raw.get("correlation_id"))


@dataclass(frozen=True)
class DigestReplay:
    """A replay answered by the request digest, with what the request history keeps of it."""

    result: ImportResult
    request_batch_id: str | None
    source: str
    rows: int


@dataclass(frozen=True)
class ReplayProbe:
    """The digest of a received request, and the replay it answers, if any."""

    digest: bytes
    replay: DigestReplay | None


def _replay_correlation_id(tenant_id: str, body_correlation_id: str | None,
                           received: ReceivedRequest) -> uuid.UUID:
    """The correlation id the checksum path answers for the same request: the body's (the
    staged batch's, as the digest says the body is the same), else the header's when it is a
    UUID, else the one generated for this request."""
    if body_correlation_id is not None:
        return identifier_uuid(tenant_id, body_correlation_id)
    if received.header_correlation_id is not None:
        with contextlib.suppress(ValueError):
            return uuid.UUID(received.header_correlation_id.strip())
    return received.generated_correlation_id


class ImportService:
    def __init__(self, db: Database, *, retry_after_seconds: int | None = None) -> None:
        self.db = db
        self.retry_after_seconds = retry_after_seconds

    async def replay_by_digest(self, tenant_id: str, received: ReceivedRequest, *,
                               max_rows: int) -> ReplayProbe:
        """The replay an exact re-send stands for, found by its request digest before the body
        is decoded (migration 0030); none when the digest is unknown, the tenant is paused
        (the submit answers 423) or the staged batch has more rows than now allowed."""
        # hashlib releases the GIL: a thread keeps a 5 MB body off the event loop
        digest = await asyncio.to_thread(request_digest, received.media, received.body,
                                         received.query)
        started = time.perf_counter()
        found = await self.db.fetch_one("import_digest_lookup", tenant_id=tenant_id,
                                        request_digest=digest)
        if found is None or found["row_count"] > max_rows:
            return ReplayProbe(digest, None)
        result = ImportResult(
            batch_id=uuid.UUID(str(found["batch_id"])),
            correlation_id=_replay_correlation_id(tenant_id, found["request_correlation_id"],
                                                  received),
            tenant_id=tenant_id,
            replayed=True,
            metrics=_public_metrics(found["metrics"]),
            merge_ms=(time.perf_counter() - started) * 1000,
        )
        return ReplayProbe(digest, DigestReplay(result, found["request_batch_id"],
                                                found["source"], found["row_count"]))

    async def submit(self, request: ImportRequest, *,
                     request_digest: bytes | None = None) -> ImportResult:
        """Stage and merge a validated batch, or answer its replay. `request_digest` (from
        replay_by_digest) is kept on the batch this request stages."""
        started = time.perf_counter()
        try:
            result = await self._submit(request, request_digest)
        except InvalidInput as exc:
            # values the contract check let through but PostgreSQL refuses: the caller's data
            raise ContractError([Violation(
                None, "rows", "invalid_value", f"a value cannot be stored: {exc.message}")]
            ) from exc
        merge_ms = (time.perf_counter() - started) * 1000
        outcome = result["outcome"]
        if outcome == "busy":
            raise ImportBusy(request.tenant_id, self.retry_after_seconds)
        if outcome == "paused":
            raise TenantPaused(request.tenant_id, str(result.get("reason") or ""),
                               str(result.get("paused_at") or ""))
        if outcome == "batch_conflict":
            raise ContractError([Violation(
                None, "batch_id", "batch_conflict",
                f"batch_id {request.request_batch_id or request.batch_id} was already used "
                "for a different set of rows; send a new batch_id")])
        return ImportResult(
            batch_id=uuid.UUID(str(result["batch_id"])),
            correlation_id=request.correlation_id,
            tenant_id=request.tenant_id,
            replayed=outcome == "replayed",
            metrics=_public_metrics(result["metrics"]),
            merge_ms=merge_ms,
        )

    async def _submit(self, request: ImportRequest,
                      request_digest: bytes | None) -> dict[str, Any]:
        # a replay is answered by the checksum before the payload travels
        replayed = await self.db.fetch_one("import_replay_lookup", tenant_id=request.tenant_id,
                                           batch_checksum=request.checksum)
        if replayed is not None:
            answer: dict[str, Any] = replayed["result"]
            return answer
        params = await run_cpu_bound(submit_params, request)
        async with self.db.transaction() as tx:
            result: dict[str, Any] = await tx.fetch_value("import_submit", **params)
            if (result["outcome"] == "merged" and request_digest is not None
                    and digest_answers_correlation(request)):
                await tx.execute("staging_request_digest", tenant_id=request.tenant_id,
                                 batch_id=uuid.UUID(str(result["batch_id"])),
                                 batch_checksum=request.checksum,
                                 request_digest=request_digest)
        return result

    async def rerun(self, tenant_id: str, batch_id: uuid.UUID, *, max_rows: int) -> ImportResult:
        """Re-merge a staged batch's raw rows with today's directories (SPEC §5.6)."""
        async with self.db.transaction() as tx:
            staged = await tx.fetch_one("staging_get", tenant_id=tenant_id, batch_id=batch_id)
            if staged is None:
                raise BatchNotFound(f"no staged batch {batch_id} for tenant {tenant_id}")
            staged_rows = len(staged["raw"].get("rows") or [])
            request = parse_payload(staged["raw"], max_rows=max(max_rows, staged_rows))
            correlation_id = uuid.uuid4()
            merged = await tx.fetch_value(
                "batch_merge", tenant_id=tenant_id, source=staged["source"], batch_id=batch_id,
                rows=Jsonb(request.rows), correlation_id=correlation_id)
        return ImportResult(batch_id=batch_id, correlation_id=correlation_id, tenant_id=tenant_id,
                            replayed=False, metrics=_public_metrics(merged))

    async def record_request(self, request: ImportRequestRecord) -> None:
        """Keep the outcome of one authenticated import request (import_requests)."""
        params = dataclasses.asdict(request)
        summary = params["violations_summary"]
        params["violations_summary"] = Jsonb(summary) if summary is not None else None
        await self.db.execute("import_request_record", **params)
