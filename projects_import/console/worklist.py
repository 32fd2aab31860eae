"""The problems worklist: filters from the page's query string, one page of problems, the
problem detail, the bulk lifecycle and the CSV export of what the filters show.

Reads go through the problem RPCs (fn_problems_for_operator, fn_problem_get, …) and writes
through fn_problems_set_status, all under the signed-in user's claims, so the database refuses
a viewer as well as the page does.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from projects_import.anomalies.problems import ProblemFilter
from projects_import.console.errors import ConsoleError
from projects_import.console.retry import retried_once
from projects_import.db.connection import Database, QuerySession
from projects_import.errors import NotFound
from projects_import.imports.contract import derive_uuid
from projects_import.vocabulary import ANOMALY_TYPES, SEVERITIES, TENANT_ID

PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
OCCURRENCES_SHOWN = 100
MAX_SELECTED = 200
MAX_NOTE = 2000
STATUSES = {"open": ("open",), "acknowledged": ("acknowledged",), "resolved": ("resolved",),
            "unresolved": ("open", "acknowledged"), "all": None}
SORTS = {"last_seen": "last seen, newest first", "first_seen": "first seen, newest first",
         "due": "resolve due, soonest first", "occurrences": "most occurrences first",
         "project": "project key"}
FILTER_NAMES = ("tenant", "type", "severity", "status", "batch", "from", "to", "overdue", "q",
                "sort", "page")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CSV_COLUMNS = ("id", "tenant_id", "project_key", "anomaly_type", "severity", "unknown_value",
               "status", "first_seen_at", "last_seen_at", "occurrences", "last_batch_id",
               "ack_due_at", "resolve_due_at", "acknowledged_at", "acknowledged_by",
               "resolved_at", "resolved_by", "resolution", "regressed")


@dataclass(frozen=True)
class WorklistFilter:
    """What the worklist shows, as its form says it; blank means any. Built from the page's
    query string; `rpc_filter` turns it into the problem RPC's filter (the API's)."""

    tenant: str = ""
    anomaly_type: str = ""
    severity: str = ""
    status: str = "open"
    batch: str = ""
    seen_from: str = ""
    seen_to: str = ""
    overdue: bool = False
    search: str = ""
    sort: str = "last_seen"
    page: int = 1

    @classmethod
    def parse(cls, params: Iterable[tuple[str, str]],
              extra: Sequence[str] = ()) -> WorklistFilter:
        """From query parameters; a ConsoleError names an unknown, repeated or bad one."""
        values: dict[str, str] = {}
        for name, value in params:
            if name not in FILTER_NAMES and name not in extra:
                raise ConsoleError(f"unknown parameter {name[:40]!r}; the worklist takes "
                                   f"{', '.join(FILTER_NAMES)}")
            if name in values:
                raise ConsoleError(f"parameter {name!r} is given more than once")
            values[name] = value.strip()
        chosen = cls()
        tenant = values.get("tenant", "")
        if tenant and not TENANT_ID.match(tenant):
            raise ConsoleError(f"tenant {tenant[:70]!r} is not a tenant id")
        kind = values.get("type", "")
        if kind and kind not in ANOMALY_TYPES:
            raise ConsoleError(f"type must be one of {', '.join(ANOMALY_TYPES)}")
        severity = values.get("severity", "")
        if severity and severity not in SEVERITIES:
            raise ConsoleError(f"severity must be one of {', '.join(SEVERITIES)}")
        status = values.get("status") or chosen.status
        if status not in STATUSES:
            raise ConsoleError(f"status must be one of {', '.join(STATUSES)}")
        sort = values.get("sort") or chosen.sort
        if sort not in SORTS:
            raise ConsoleError(f"sort must be one of {', '.join(SORTS)}")
        for name in ("from", "to"):
            if values.get(name) and not _is_date(values[name]):
                raise ConsoleError(f"{name} must be a date like 2025-08-18")
        overdue = values.get("overdue", "")
        if overdue not in ("", "1", "on", "true"):
            raise ConsoleError("overdue is a checkbox: 1 or absent")
        page = values.get("page", "1") or "1"
        if not page.isdigit() or not 1 <= int(page) <= 100_000:
            raise ConsoleError("page must be a whole number from 1")
        for name in ("batch", "q"):
            if len(values.get(name, "")) > 256:
                raise ConsoleError(f"{name} must be at most 256 characters")
        return cls(tenant=tenant, anomaly_type=kind, severity=severity, status=status,
                   batch=values.get("batch", ""), seen_from=values.get("from", ""),
                   seen_to=values.get("to", ""), overdue=bool(overdue),
                   search=values.get("q", ""), sort=sort, page=int(page))

    def query_string(self, **changes: Any) -> str:
        """This filter as a query string (defaults left out), with some fields changed."""
        chosen = replace(self, **changes)
        pairs = [("tenant", chosen.tenant), ("type", chosen.anomaly_type),
                 ("severity", chosen.severity),
                 ("status", "" if chosen.status == "open" else chosen.status),
                 ("batch", chosen.batch), ("from", chosen.seen_from), ("to", chosen.seen_to),
                 ("overdue", "1" if chosen.overdue else ""), ("q", chosen.search),
                 ("sort", "" if chosen.sort == "last_seen" else chosen.sort),
                 ("page", "" if chosen.page == 1 else str(chosen.page))]
        return urlencode([(k, v) for k, v in pairs if v])

    def rpc_filter(self, batch_ids: Sequence[uuid.UUID] | None) -> ProblemFilter:
        """The filters fn_problems_for_operator applies, as GET /anomalies/problems takes
        them (the date range and the order are the worklist's own)."""
        return ProblemFilter(
            tenant=self.tenant or None,
            anomaly_types=(self.anomaly_type,) if self.anomaly_type else None,
            statuses=STATUSES[self.status], severities=(self.severity,) if self.severity else None,
            batch_ids=tuple(batch_ids) if batch_ids is not None else None,
            overdue=True if self.overdue else None, search=self.search or None)

    @property
    def narrowed(self) -> bool:
        return self.query_string(page=1, sort="last_seen") != ""


def _is_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def batch_ids(batch: str, tenants: Sequence[str]) -> list[uuid.UUID] | None:
    """A batch filter as our batch UUIDs: the UUID itself, or the upstream string's UUID for
    each of the tenants it may belong to (the import's rule, `derive_uuid`)."""
    if not batch:
        return None
    try:
        return [uuid.UUID(batch)]
    except ValueError:
        return [derive_uuid(tenant, batch) for tenant in tenants]


def _day_start(text: str, zone: str) -> datetime | None:
    if not text:
        return None
    return datetime.combine(date.fromisoformat(text), time(0), tzinfo=ZoneInfo(zone))


@dataclass
class ProblemPage:
    filter: WorklistFilter
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    tenants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


@dataclass
class ProblemDetail:
    problem: dict[str, Any]
    occurrences: list[dict[str, Any]]
    events: list[dict[str, Any]]
    project: dict[str, Any] | None
    members: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]


def csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: one starting with = + - @ (or a tab/CR that
    hides one) gets a leading quote, so it is never run as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def problems_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


class Worklist:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    async def _params(tx: QuerySession, chosen: WorklistFilter
                      ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The query's parameters for this filter, and the tenants the user may see."""
        tenants = await tx.fetch_all("console_tenants")
        zones = {t["tenant_id"]: t["timezone"] for t in tenants}
        zone = zones.get(chosen.tenant, "UTC")
        until = _day_start(chosen.seen_to, zone)
        selection = chosen.rpc_filter(
            batch_ids(chosen.batch, [chosen.tenant] if chosen.tenant else list(zones)))
        keyset = ("limit", "after_at", "after_id")  # the worklist pages by offset
        return {
            **{k: v for k, v in selection.params().items() if k not in keyset},
            "seen_from": _day_start(chosen.seen_from, zone),
            "seen_until": until + timedelta(days=1) if until else None,
            "sort": chosen.sort,
        }, tenants

    async def page(self, claims: Mapping[str, Any], chosen: WorklistFilter) -> ProblemPage:
        async with self.db.user_transaction(claims, read_only=True) as tx:
            params, tenants = await self._params(tx, chosen)
            rows = await tx.fetch_all("console_problems", **params, limit=PAGE_SIZE,
                                      offset=(chosen.page - 1) * PAGE_SIZE)
        total = int(rows[0]["total"]) if rows else 0
        return ProblemPage(chosen, rows, total, tenants)

    async def export(self, claims: Mapping[str, Any], chosen: WorklistFilter) -> str:
        """Every problem the filters match (up to EXPORT_LIMIT), as CSV."""
        async with self.db.user_transaction(claims, read_only=True) as tx:
            params, _ = await self._params(tx, chosen)
            rows = await tx.fetch_all("console_problems", **params, limit=EXPORT_LIMIT,
                                      offset=0)
        return problems_csv(rows)

    async def detail(self, claims: Mapping[str, Any], problem_id: int) -> ProblemDetail:
        async with self.db.user_transaction(claims, read_only=True) as tx:
            problem = await tx.fetch_one("console_problem", id=problem_id)
            if problem is None:
                raise NotFound(f"no problem with id {problem_id}")
            where = {"tenant_id": problem["tenant_id"], "project_key": problem["project_key"]}
            occurrences = await tx.fetch_all("console_problem_occurrences", id=problem_id,
                                             limit=OCCURRENCES_SHOWN)
            events = await tx.fetch_all("console_problem_events", id=problem_id)
            project = await tx.fetch_one("console_project", **where)
            members = await tx.fetch_all("console_project_members", **where)
            suggestions: list[dict[str, Any]] = []
            if problem["status"] != "resolved" and problem["unknown_value"]:
                suggestions = await tx.fetch_all(
                    "console_suggestions", tenant_id=problem["tenant_id"],
                    anomaly_type=problem["anomaly_type"], value=problem["unknown_value"])
        return ProblemDetail(problem, occurrences, events, project, members, suggestions)

    async def set_status(self, claims: Mapping[str, Any], ids: Sequence[int], status: str,
                         note: str | None) -> int:
        """Acknowledge or resolve every selected problem in one transaction (all or none),
        locked up front in id order (fn_problems_set_status) so an import touching the same
        problems cannot deadlock with it; returns how many changed status. Rolled back for a
        concurrent change, it runs once more before the user is told."""
        if status not in ("acknowledged", "resolved"):
            raise ConsoleError("the action must be acknowledge or resolve")
        if not ids:
            raise ConsoleError("select at least one problem")
        if len(ids) > MAX_SELECTED:
            raise ConsoleError(f"select at most {MAX_SELECTED} problems at a time")
        note = (note or "").strip() or None
        if note and len(note) > MAX_NOTE:
            raise ConsoleError(f"the note must be at most {MAX_NOTE} characters")
        selected = list(dict.fromkeys(ids))

        async def apply() -> int:
            async with self.db.user_transaction(claims) as tx:
                rows = await tx.fetch_all("console_problems_set_status", ids=selected,
                                          status=status, note=note)
            return sum(1 for row in rows if row["changed"])

        return await retried_once(apply)
