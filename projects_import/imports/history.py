"""Import history (SPEC §9 "Imports history"): what each import request did, for operators.

Every authenticated request to POST /import-projects leaves one `import_requests` row: its
upstream batch id and source, the merge's counts, and for a rejected request a bounded summary
of its violations (counts by code and the first few `{row_index, field, code}`, never values).
Operators read it through `fn_imports_for_operator` / `fn_import_get`, run under their own JWT
claims, so the database refuses anyone else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projects_import.cursor import CursorCodec
from projects_import.db.connection import Database
from projects_import.errors import NotFound
from projects_import.imports.service import ImportRequestRecord

# The fields of a listed import request, in the order GET /imports answers them.
IMPORT_FIELDS = ("id", "tenant_id", "received_at", "request_batch_id", "batch_id", "source",
                 "status", "error_code", "rows", "inserted_projects", "updated_projects",
                 "unchanged_projects", "anomalies_count", "parse_ms", "merge_ms",
                 "correlation_id", "replayed", "batch_state")
# GET /imports/{id} adds these.
DETAIL_FIELDS = (*IMPORT_FIELDS, "org_memberships_upserted", "user_memberships_upserted",
                 "bytes", "staging_id", "staged_at", "staged_metrics", "reruns",
                 "violations_total", "violations_summary", "batch")
# What a staged batch can be (0037): merged at once, held by its audit, then published,
# rejected, or superseded (published except where a later batch overtook it).
BATCH_STATES = ("merged", "held", "published", "rejected", "superseded")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

_COUNTS = {"inserted": "inserted_projects", "updated": "updated_projects",
           "unchanged": "unchanged_projects",
           "org_memberships_upserted": "org_memberships_upserted",
           "user_memberships_upserted": "user_memberships_upserted",
           "anomalies_count": "anomalies_count"}


class ImportNotFound(NotFound):
    """No import request with that id is visible to the caller."""


def request_record(tenant_id: str, correlation_id: str, status: int,
                   fields: Mapping[str, Any]) -> ImportRequestRecord:
    """What import_requests keeps of one request, from the fields the route collected."""
    return ImportRequestRecord(
        tenant_id=tenant_id, correlation_id=correlation_id, status=status,
        batch_id=fields.get("batch_id"), error_code=fields.get("error_code"),
        rows=fields.get("rows"), parse_ms=fields.get("parse_ms"),
        merge_ms=fields.get("merge_ms"), bytes=fields.get("bytes"),
        replayed=bool(fields.get("replayed")),
        request_batch_id=fields.get("request_batch_id"), source=fields.get("source"),
        staging_id=fields.get("staging_id"),
        violations_total=fields.get("violations_total"),
        violations_summary=fields.get("violations_summary"),
        **{column: fields.get(name) for name, column in _COUNTS.items()},
    )


CURSOR_KIND = "imports"  # the list a cursor of this history is bound to


@dataclass(frozen=True)
class Keyset:
    """Where a page ends: the last row's (received_at, id)."""

    received_at: datetime
    id: int


@dataclass(frozen=True)
class ImportFilter:
    """Which import requests to list: optionally one tenant, one HTTP status code, since a
    time, after a keyset; at most `limit`."""

    tenant: str | None = None
    status: int | None = None
    since: datetime | None = None
    after: Keyset | None = None
    limit: int = DEFAULT_LIMIT
    batch_state: str | None = None

    def params(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "status": self.status, "since": self.since,
                "batch_state": self.batch_state,
                "after_created_at": self.after.received_at if self.after else None,
                "after_id": self.after.id if self.after else None,
                # one more than asked: whether a next page exists, without a count (at the
                # RPC's cap a full page gets a cursor, whose page may then be empty)
                "limit": min(self.limit + 1, MAX_LIMIT)}


@dataclass
class ImportPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None


class ImportHistory:
    """Reads of the import history, always under the caller's claims."""

    def __init__(self, db: Database, cursors: CursorCodec) -> None:
        self.db = db
        self.cursors = cursors

    def after(self, cursor: str) -> Keyset:
        """The keyset a `next_cursor` of this history stands for; InvalidCursor (400) for a
        cursor it did not issue."""
        return Keyset(*self.cursors.decode(CURSOR_KIND, cursor))

    async def _fetch(self, claims: Mapping[str, Any], name: str,
                     params: Mapping[str, Any]) -> list[dict[str, Any]]:
        async with self.db.user_transaction(claims, read_only=True) as tx:
            return await tx.fetch_all(name, **params)  # a non-operator: Forbidden (42501)

    async def page(self, claims: Mapping[str, Any], selection: ImportFilter) -> ImportPage:
        """One page of import requests, newest first, and the cursor of the next one."""
        rows = await self._fetch(claims, "imports_list", selection.params())
        full_at_cap = len(rows) == selection.limit == MAX_LIMIT
        if len(rows) <= selection.limit and not full_at_cap:
            return ImportPage(rows, None)
        rows = rows[:selection.limit]
        last = rows[-1]
        return ImportPage(rows, self.cursors.encode(CURSOR_KIND, last["received_at"], last["id"]))

    async def get(self, claims: Mapping[str, Any], import_id: int) -> dict[str, Any]:
        """One import request with its staged metrics, reruns and violations summary."""
        try:
            rows = await self._fetch(claims, "import_get", {"id": import_id})
        except NotFound as exc:
            raise ImportNotFound(f"no import request with id {import_id}") from exc
        found = await self._fetch(claims, "import_batch", {"id": import_id})
        batch = found[0]["batch"] if found else None
        return {**rows[0], "batch": batch, "batch_state": batch and batch["batch_state"]}


def public_row(row: Mapping[str, Any], names: Sequence[str] = IMPORT_FIELDS) -> dict[str, Any]:
    """A row as the API answers it: the documented fields, numbers as numbers."""
    shown: dict[str, Any] = {}
    for name in names:
        value = row.get(name)
        if name in ("parse_ms", "merge_ms") and value is not None:
            value = float(value)
        shown[name] = value
    return shown
