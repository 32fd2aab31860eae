"""The import manager: run a validated batch through PostgreSQL (stage, detect replays, merge:
one transaction), re-merge a staged batch, and record the outcome of each import request.

A replay is the same batch again: its batch_id already staged with the same rows (SPEC §5.2,
migration 0034). A new batch_id is merged even when its rows equal an older batch's."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import time
import uuid
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from psycopg.types.json import Jsonb

from projects_import.db.connection import Database
from projects_import.errors import Conflict, InvalidInput, NotFound, ProjectsImportError
from projects_import.imports.contract import (
    CHECKSUM_VERSION,
    ContractError,
    ImportRequest,
    Violation,
    identifier_uuid,
    parse_payload,
)
from projects_import.imports.decoding import CSV, ENVELOPE_PARAMETERS
from projects_import.imports.prepare import StagedBatch, adopted_correlation_id

log = structlog.get_logger("projects_import.imports")

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

    def __init__(self, tenant_id: str, reason: str, paused_at: str,
                 timezone: str = "UTC") -> None:
        try:  # jsonb's ISO text, shown in the tenant's zone (as the console) with UTC beside
            moment = dt.datetime.fromisoformat(paused_at)
            paused_at = f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
            if timezone != "UTC":
                local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
                paused_at = f"{local:%Y-%m-%d %H:%M:%S %Z} ({paused_at})"
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            pass
        super().__init__(
            f"tenant {tenant_id} is paused (quarantined) since {paused_at}: {reason}. Nothing "
            "was staged; imports are refused until an operator resumes the tenant (do not "
            "retry until then)")
        self.tenant_id = tenant_id
        self.reason = reason
        self.paused_at = paused_at


class BatchRejected(ProjectsImportError):
    """A re-send of a batch an admin rejected (HTTP 422 `batch_rejected`)."""

    code = "batch_rejected"
    http_status = 422


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
    held: bool = False                       # over an audit limit: staged, not published (202)
    audit: dict[str, Any] | None = None      # the audit's findings and figures (0037)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "batch_id": str(self.batch_id),
            "correlation_id": str(self.correlation_id),
            "tenant_id": self.tenant_id,
            "replayed": self.replayed,
            "metrics": self.metrics,
        }
        if self.held:
            answer["held"] = True
        if self.audit is not None:
            answer["audit"] = self.audit
        if self.dry_run:
            answer["dry_run"] = True
        return answer


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


def submit_params(batch: StagedBatch | ImportRequest) -> dict[str, Any]:
    """The parameters of `import_submit` for a validated batch: the raw body as received and
    the rows as one array literal per column, prepared with the batch (in a worker process for
    the API), never encoded on the event loop."""
    if isinstance(batch, ImportRequest):
        batch = StagedBatch.of(batch)
    if batch.raw_json is None:
        raise ValueError("the batch's raw payload is missing (StagedBatch.with_body)")
    return {
        "tenant_id": batch.tenant_id,
        "source": batch.source,
        "batch_id": batch.batch_id,
        "batch_checksum": batch.checksum,
        "checksum_version": CHECKSUM_VERSION,
        "raw": Jsonb(batch.raw_json, dumps=_already_json),
        "correlation_id": batch.correlation_id,
        "validation": Jsonb(batch.validation),
        **batch.columns,
    }


def _public_metrics(raw: dict[str, Any]) -> dict[str, Any]:
    """The documented metrics first, then any extra figures the merge reported."""
    metrics = {name: raw.get(name, 0) for name in METRIC_FIELDS}
    metrics["staging_id"] = str(raw["staging_id"]) if raw.get("staging_id") else None
    metrics.update({k: v for k, v in raw.items() if k not in metrics})
    return metrics


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
    header = adopted_correlation_id(None, received.header_correlation_id)
    return uuid.UUID(header) if header is not None else received.generated_correlation_id


def log_replay(tenant_id: str, batch_id: object, staging_id: object,
               correlation_id: uuid.UUID, found_by: str) -> None:
    """One line when a request is answered as a replay of a staged batch (nothing merged):
    ids only. `found_by`: "digest" (the exact request again) or "batch" (its batch_id with the
    same rows)."""
    log.info("import_replayed", tenant_id=tenant_id, batch_id=str(batch_id),
             staging_id=str(staging_id) if staging_id else None,
             correlation_id=str(correlation_id), found_by=found_by)


class ImportService:
    # requests recorded after their answer (record_request_later) at most at once; more wait
    MAX_RECORDING = 64

    def __init__(self, db: Database, *, retry_after_seconds: int | None = None) -> None:
        self.db = db
        self.retry_after_seconds = retry_after_seconds
        self._recording: set[asyncio.Task[None]] = set()

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
        log_replay(tenant_id, result.batch_id, found["staging_id"], result.correlation_id,
                   "digest")
        return ReplayProbe(digest, DigestReplay(result, found["request_batch_id"],
                                                found["source"], found["row_count"]))

    async def submit(self, batch: StagedBatch | ImportRequest, *,
                     request_digest: bytes | None = None, dry_run: bool = False) -> ImportResult:
        """Stage and merge a validated batch, or answer its replay. `request_digest` (from
        replay_by_digest) is kept on the batch this request stages. A `dry_run` runs the same
        submit (stage, merge, audit) in a transaction that is rolled back."""
        if isinstance(batch, ImportRequest):
            batch = StagedBatch.of(batch)
        started = time.perf_counter()
        try:
            if dry_run:
                async with self.db.transaction(rollback=True) as tx:
                    result = await tx.fetch_value("import_submit", **submit_params(batch))
            else:
                result = await self._submit(batch, request_digest)
        except InvalidInput as exc:
            # values the contract check let through but PostgreSQL refuses: the caller's data
            raise ContractError([Violation(
                None, "rows", "invalid_value", f"a value cannot be stored: {exc.message}")]
            ) from exc
        merge_ms = (time.perf_counter() - started) * 1000
        outcome = result["outcome"]
        if outcome == "busy":
            raise ImportBusy(batch.tenant_id, self.retry_after_seconds)
        if outcome == "paused":
            tenant = await self.db.fetch_one("tenant_get", tenant_id=batch.tenant_id)
            raise TenantPaused(batch.tenant_id, str(result.get("reason") or ""),
                               str(result.get("paused_at") or ""),
                               str(tenant["timezone"]) if tenant else "UTC")
        if outcome == "replayed":
            log_replay(batch.tenant_id, result["batch_id"], result.get("staging_id"),
                       batch.correlation_id, "batch")
        if outcome == "batch_conflict":
            raise ContractError([Violation(
                None, "batch_id", "batch_conflict",
                f"batch_id {batch.request_batch_id or batch.batch_id} was already used "
                "for a different set of rows; send a new batch_id")])
        if outcome == "batch_rejected":
            reason = result.get("reason") or "no reason given"
            raise BatchRejected(
                f"batch {batch.request_batch_id or batch.batch_id} was held by its audit and "
                f"rejected by an admin ({reason}); send a corrected export under a new "
                "batch_id")
        return ImportResult(
            batch_id=uuid.UUID(str(result["batch_id"])),
            correlation_id=batch.correlation_id,
            tenant_id=batch.tenant_id,
            replayed=outcome == "replayed" or bool(result.get("replayed")),
            metrics=_public_metrics(result["metrics"]),
            merge_ms=merge_ms,
            held=outcome == "held",
            audit=result.get("audit"),
            dry_run=dry_run,
        )

    async def _submit(self, batch: StagedBatch,
                      request_digest: bytes | None) -> dict[str, Any]:
        # a replay (this batch_id with these rows) is answered before the payload travels
        replayed = await self.db.fetch_one("import_replay_lookup", tenant_id=batch.tenant_id,
                                           batch_id=batch.batch_id,
                                           batch_checksum=batch.checksum)
        if replayed is not None:
            answer: dict[str, Any] = replayed["result"]
            return answer
        params = submit_params(batch)
        async with self.db.transaction() as tx:
            result: dict[str, Any] = await tx.fetch_value("import_submit", **params)
            if (result["outcome"] == "merged" and request_digest is not None
                    and batch.digest_answers_correlation):
                await tx.execute("staging_request_digest", tenant_id=batch.tenant_id,
                                 batch_id=uuid.UUID(str(result["batch_id"])),
                                 batch_checksum=batch.checksum,
                                 request_digest=request_digest)
        return result

    async def rerun(self, tenant_id: str, batch_id: uuid.UUID, *, max_rows: int) -> ImportResult:
        """Re-merge a staged batch's raw rows with today's directories (SPEC §5.6)."""
        async with self.db.transaction() as tx:
            staged = await tx.fetch_one("staging_get", tenant_id=tenant_id, batch_id=batch_id)
            if staged is None:
                raise BatchNotFound(f"no staged batch {batch_id} for tenant {tenant_id}")
            if staged["batch_state"] in ("held", "rejected"):
                raise Conflict(f"batch {batch_id} is {staged['batch_state']}: publish or "
                               "reject a held batch (`imports publish|reject`), never rerun it")
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

    async def record_request_later(self, request: ImportRequestRecord) -> None:
        """Record in the background, so the answer does not wait for the round trip (a busy
        tenant's 429); a failure is logged and changes nothing. At most MAX_RECORDING wait at
        once: past that the caller records before answering."""
        if len(self._recording) >= self.MAX_RECORDING:
            await self.record_request_logged(request)
            return
        task = asyncio.create_task(self.record_request_logged(request))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def record_request_logged(self, request: ImportRequestRecord) -> None:
        """record_request, a failure logged (without values) instead of raised: the history
        must never change an answer."""
        try:
            await self.record_request(request)
        except Exception as exc:
            log.warning("import_request_not_recorded", error_type=type(exc).__name__,
                        correlation_id=request.correlation_id)

    async def recorded(self) -> None:
        """Wait for the requests being recorded in the background (the service stops)."""
        while self._recording:
            await asyncio.gather(*self._recording, return_exceptions=True)
