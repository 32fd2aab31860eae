"""Split rows into request-sized chunks, deterministically.

A chunk holds at most `max_rows` rows and its JSON body at most `max_bytes` bytes (before any
gzip: the server applies its limit to the decoded body). The same file with the same limits
always gives the same chunks and the same `<batch_id>-part-NNN` ids, so re-sending a file is
a replay on the server, never a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from projects_import.errors import ProjectsImportError
from projects_import.vocabulary import MAX_BODY_BYTES, MAX_ROWS, MAX_STRING

MAX_BATCH_ID = MAX_STRING - len("-part-0000")
_CORRELATION_PLACEHOLDER = str(uuid.UUID(int=0))
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ChunkError(ProjectsImportError):
    """The rows cannot be split within the limits (e.g. one row is over the byte limit)."""


@dataclass(frozen=True)
class Limits:
    max_rows: int = MAX_ROWS
    max_bytes: int = MAX_BODY_BYTES


@dataclass(frozen=True)
class Envelope:
    """What every chunk of one send shares."""

    tenant_id: str
    source: str
    batch_id: str

    def part_id(self, number: int) -> str:
        return f"{self.batch_id}-part-{number:03d}"

    def prefix(self, number: int, correlation_id: str) -> bytes:
        head = _compact({"tenant_id": self.tenant_id, "source": self.source,
                         "batch_id": self.part_id(number), "correlation_id": correlation_id})
        return head[:-1] + b',"rows":['


@dataclass
class Chunk:
    number: int
    batch_id: str
    first_row: int
    rows: list[bytes] = field(repr=False)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1

    def body(self, envelope: Envelope, correlation_id: str) -> bytes:
        """The request body: the envelope with this chunk's rows, compact JSON."""
        return envelope.prefix(self.number, correlation_id) + b",".join(self.rows) + b"]}"


def _compact(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode()
    except ValueError as exc:
        raise ChunkError(f"a value cannot be sent as JSON: {exc}") from exc


def split(rows: Iterable[dict[str, Any]], envelope: Envelope, limits: Limits) -> Iterator[Chunk]:
    """Fill chunks greedily in file order; a new chunk starts when the next row would pass
    either limit."""
    if len(envelope.batch_id) > MAX_BATCH_ID:
        raise ChunkError(f"the batch id is {len(envelope.batch_id)} characters; at most "
                         f"{MAX_BATCH_ID} leave room for the -part-NNN suffix")
    number, first_row, size = 1, 1, 0
    current: list[bytes] = []
    overhead = len(envelope.prefix(number, _CORRELATION_PLACEHOLDER)) + 2
    for row_number, row in enumerate(rows, start=1):
        encoded = _compact(row)
        grown = size + len(encoded) + (1 if current else 0)
        if current and (len(current) >= limits.max_rows or overhead + grown > limits.max_bytes):
            yield Chunk(number, envelope.part_id(number), first_row, current)
            number, first_row, size, current = number + 1, row_number, 0, []
            overhead = len(envelope.prefix(number, _CORRELATION_PLACEHOLDER)) + 2
            grown = len(encoded)
        if overhead + grown > limits.max_bytes:
            raise ChunkError(f"row {row_number} alone makes a {overhead + grown}-byte request, "
                             f"over the {limits.max_bytes}-byte limit")
        current.append(encoded)
        size = grown
    if current:
        yield Chunk(number, envelope.part_id(number), first_row, current)


def derive_batch_id(path: Path, digest: str, limits: Limits) -> str:
    """`<file stem>-<hash>`: the same file content and limits give the same id, so a re-send
    replays; changed content or limits give a new one, so parts never collide."""
    stem = _UNSAFE.sub("-", path.stem).strip("-.")[:64] or "export"
    key = f"{digest}:{limits.max_rows}:{limits.max_bytes}".encode()
    return f"{stem}-{hashlib.sha256(key).hexdigest()[:16]}"
