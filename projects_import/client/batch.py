"""Send one export file as a batch of parts, in file order.

The file is read twice, streaming both times: once to plan the parts (so a malformed file is
refused before anything is sent, and progress has a total), once to send them. Sending stops
at the first part that is rejected or still failing after its retries: later parts would leave
the batch just as incomplete, and a re-send of the same file replays what was accepted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any

from projects_import.client.chunker import Envelope, Limits, derive_batch_id, split
from projects_import.client.reader import Export, ExportError, file_digest, open_export
from projects_import.client.sender import Answer, RetryNotice, Sender, SendOptions
from projects_import.vocabulary import DEFAULT_SOURCE

EXIT_ACCEPTED = 0
EXIT_REJECTED = 2
EXIT_FAILED = 3
EXIT_HELD = 4  # a part was held for review by the tenant's audit (202)


@dataclass
class Part:
    number: int
    batch_id: str
    first_row: int
    rows: int
    correlation_id: str | None = None
    answer: Answer | None = None

    @property
    def status(self) -> str:
        return self.answer.status if self.answer else "not sent"


@dataclass
class Plan:
    """What will be sent: the file, its envelope and its parts."""

    export: Export
    envelope: Envelope
    limits: Limits
    parts: list[Part]
    batch_id_derived: bool = False

    @property
    def total_rows(self) -> int:
        return sum(part.rows for part in self.parts)


@dataclass
class BatchRun:
    plan: Plan
    url: str
    gzip: bool
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    @property
    def parts(self) -> list[Part]:
        return self.plan.parts

    dry_run: bool = False

    @property
    def outcome(self) -> str:
        """accepted (every part 200), held (a part was held for review: 202), rejected (a
        part got a final 4xx), or failed."""
        statuses = {part.status for part in self.parts}
        if "held" in statuses:
            return "held"
        if "rejected" in statuses:
            return "rejected"
        if statuses <= {"accepted", "replayed"}:
            return "accepted"
        return "failed"

    @property
    def exit_code(self) -> int:
        return {"accepted": EXIT_ACCEPTED, "rejected": EXIT_REJECTED,
                "held": EXIT_HELD}.get(self.outcome, EXIT_FAILED)


def plan_batch(path: Path, *, tenant_id: str, source: str | None, batch_id: str | None,
               limits: Limits) -> Plan:
    """Read the file once to name its parts; refuses a file that cannot be sent whole."""
    export = open_export(path)
    claimed = export.envelope.get("tenant_id", "").strip()
    if claimed and claimed != tenant_id:
        raise ExportError(f"{path.name} is a payload for tenant {claimed}, not {tenant_id}")
    chosen_id = batch_id or export.envelope.get("batch_id", "").strip()
    derived = not chosen_id
    if derived:
        chosen_id = derive_batch_id(path, file_digest(path), limits)
    envelope = Envelope(tenant_id=tenant_id, batch_id=chosen_id,
                        source=source or export.envelope.get("source") or DEFAULT_SOURCE)
    parts = [Part(chunk.number, chunk.batch_id, chunk.first_row, chunk.row_count)
             for chunk in split(_unique_keys(export.rows(), path.name), envelope, limits)]
    if not parts:
        raise ExportError(f"{path.name} has no rows to send")
    return Plan(export, envelope, limits, parts, batch_id_derived=derived)


def _unique_keys(rows: Iterator[dict[str, Any]], name: str) -> Iterator[dict[str, Any]]:
    """Refuse a file that repeats a stage_application, as one batch would be refused (422):
    split into parts, the later row would silently win on the server."""
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        value = row.get("stage_application")
        key = value.strip() if isinstance(value, str) else str(value) if value is not None else ""
        if key:
            if key in seen:
                raise ExportError(f"{name}: row {number} repeats the stage_application of row "
                                  f"{seen[key]}; a batch holds each project once")
            seen[key] = number
        yield row


def send_batch(plan: Plan, options: SendOptions, *,
               on_part: Callable[[Part], None] | None = None,
               on_retry: Callable[[Part, RetryNotice], None] | None = None,
               sleep: Callable[[float], None] | None = None) -> BatchRun:
    """Post the planned parts serially; returns what happened to each."""
    run = BatchRun(plan, options.url, options.gzip, dry_run=options.dry_run)
    current: list[Part] = []

    def notify(notice: RetryNotice) -> None:
        if on_retry is not None and current:
            on_retry(current[-1], notice)

    with Sender(options, on_retry=notify, sleep=sleep or time.sleep) as sender:
        chunks = split(plan.export.rows(), plan.envelope, plan.limits)
        for part, chunk in zip_longest(plan.parts, chunks):
            if part is None or chunk is None or (chunk.first_row, chunk.row_count) != (
                    part.first_row, part.rows):
                raise ExportError(f"{plan.export.path.name} changed while it was being sent; "
                                  "send it again once it is complete")
            part.correlation_id = str(uuid.uuid4())
            current.append(part)
            part.answer = sender.post(chunk.body(plan.envelope, part.correlation_id),
                                      part.correlation_id)
            if on_part is not None:
                on_part(part)
            # a dry run stages nothing, so every part is previewed; a held part stops the
            # send: later parts would publish around it
            if part.status in ("rejected", "failed", "held") and not options.dry_run:
                break
    run.finished_at = datetime.now(UTC)
    return run
