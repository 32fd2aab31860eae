"""The problems worklist: filters from the page's query string, one page of problems, the
problem detail, the bulk lifecycle and the CSV export of what the filters show.

Reads go through the problem RPCs (fn_problems_for_operator, fn_problem_get, …) and writes
through fn_problems_set_status_each, all under the signed-in user's claims, so the database refuses
a viewer as well as the page does.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from projects_import.anomalies.groups import GroupKey, ProblemGroups
from projects_import.anomalies.problems import ProblemFilter
from projects_import.console.errors import ConsoleError
from projects_import.console.retry import retried_once
from projects_import.db.connection import Database, QuerySession
from projects_import.errors import NotFound
from projects_import.imports.contract import derive_uuid
from projects_import.query_names import check_query_names
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
FILTER_NAMES = ("view", "tenant", "type", "severity", "status", "batch", "value", "from", "to",
                "overdue", "q", "sort", "page")
# The worklist's two views: one row per cause (problem group, the default) or per problem.
VIEWS = ("causes", "problems")
# What each sort means in the causes view (the same keys as SORTS).
CAUSE_SORTS = {"last_seen": "last seen, newest first", "first_seen": "first seen, newest first",
               "due": "oldest SLA first", "occurrences": "most occurrences first",
               "project": "most projects first"}
CAUSES_SHOWN = 500
BATCH_PROBLEMS_SHOWN = 500
PROJECT_ROWS_SHOWN = 100
PROJECT_BATCHES_SHOWN = 10
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CSV_COLUMNS = ("id", "tenant_id", "project_key", "anomaly_type", "severity", "unknown_value",
               "status", "first_seen_at", "last_seen_at", "occurrences", "last_batch_id",
               "ack_due_at", "resolve_due_at", "acknowledged_at", "acknowledged_by",
               "resolved_at", "resolved_by", "resolution", "regressed")


@dataclass(frozen=True)
class WorklistFilter:
    """What the worklist shows, as its form says it; blank means any. Built from the page's
    query string; `rpc_filter` turns it into the problem RPC's filter (the API's)."""

    view: str = "causes"
    tenant: str = ""
    anomaly_type: str = ""
    severity: str = ""
    status: str = "open"
    batch: str = ""
    value: str = ""
    seen_from: str = ""
    seen_to: str = ""
    overdue: bool = False
    search: str = ""
    sort: str = "last_seen"
    page: int = 1

    @classmethod
    def parse(cls, params: Iterable[tuple[str, str]],
              extra: Sequence[str] = ()) -> WorklistFilter:
        """From query parameters; InvalidParameters names an unknown or repeated one (the
        API's strict reading), a ConsoleError a bad value."""
        pairs = list(params)
        check_query_names(pairs, (*FILTER_NAMES, *extra), "the worklist")
        values = {name: value.strip() for name, value in pairs}
        chosen = cls()
        view = values.get("view") or chosen.view
        if view not in VIEWS:
            raise ConsoleError(f"view must be one of {', '.join(VIEWS)}")
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
        for name in ("batch", "q", "value"):
            if len(values.get(name, "")) > 256:
                raise ConsoleError(f"{name} must be at most 256 characters")
        return cls(view=view, value=values.get("value", ""), tenant=tenant, anomaly_type=kind,
                   severity=severity, status=status,
                   batch=values.get("batch", ""), seen_from=values.get("from", ""),
                   seen_to=values.get("to", ""), overdue=bool(overdue),
                   search=values.get("q", ""), sort=sort, page=int(page))

    def query_string(self, **changes: Any) -> str:
        """This filter as a query string (defaults left out), with some fields changed."""
        chosen = replace(self, **changes)
        pairs = [("view", "" if chosen.view == "causes" else chosen.view),
                 ("tenant", chosen.tenant), ("type", chosen.anomaly_type),
                 ("severity", chosen.severity),
                 ("status", "" if chosen.status == "open" else chosen.status),
                 ("batch", chosen.batch), ("value", chosen.value),
                 ("from", chosen.seen_from), ("to", chosen.seen_to),
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
        return self.query_string(page=1, sort="last_seen", view="causes") != ""

    def problems_of(self, cause: Mapping[str, Any]) -> str:
        """The per-problem view of one cause, with this filter's status and batch."""
        return self.query_string(view="problems", tenant=cause["tenant_id"],
                                 anomaly_type=cause["anomaly_type"],
                                 value=cause["unknown_value"], search="", page=1)


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
class CausePage:
    """The causes view: problem groups of the filtered problems, in the chosen order."""

    filter: WorklistFilter
    rows: list[dict[str, Any]] = field(default_factory=list)
    tenants: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False

    @property
    def problems(self) -> int:
        return sum(int(row["problems"]) for row in self.rows)


def _cause_order(sort: str) -> Any:
    """Sort key of a cause row for the worklist's `sort` (the SQL answers newest first)."""
    far = datetime.max.replace(tzinfo=UTC)
    keys = {
        "first_seen": lambda r: -r["first_seen_at"].timestamp(),
        "due": lambda r: min(r["ack_due_at"] or far, r["resolve_due_at"] or far),
        "occurrences": lambda r: -int(r["occurrences"]),
        "project": lambda r: -int(r["projects"]),
    }
    return keys.get(sort)


@dataclass
class ProblemDetail:
    problem: dict[str, Any]
    occurrences: list[dict[str, Any]]
    events: list[dict[str, Any]]
    project: dict[str, Any] | None
    members: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]


@dataclass
class ProjectPage:
    project: dict[str, Any] | None  # None: the project is gone, its problems remain
    members: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    batches: list[dict[str, Any]]


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
            "sort": chosen.sort, "value": chosen.value or None,
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

    async def project(self, claims: Mapping[str, Any], tenant_id: str,
                      project_key: str) -> ProjectPage:
        """One project as it is now, problem or not: its values, active memberships, problems
        and the batches known to have touched it."""
        where = {"tenant_id": tenant_id, "project_key": project_key}
        async with self.db.user_transaction(claims, read_only=True) as tx:
            project = await tx.fetch_one("console_project", **where)
            problems = await tx.fetch_all("console_project_problems", **where,
                                          limit=PROJECT_ROWS_SHOWN)
            if project is None and not problems:
                raise NotFound(f"no project {project_key!r} for tenant {tenant_id}")
            members = await tx.fetch_all("console_project_members", **where)
            batches = await tx.fetch_all("console_project_batches", **where,
                                         limit=PROJECT_BATCHES_SHOWN)
        return ProjectPage(project, members, problems, batches)

    async def batch_import(self, claims: Mapping[str, Any], batch: str) -> int:
        """The id of the import request that staged a batch (our UUID)."""
        try:
            batch_id = uuid.UUID(batch)
        except ValueError as exc:
            raise ConsoleError(f"{batch[:40]!r} is not a batch UUID") from exc
        async with self.db.user_transaction(claims, read_only=True) as tx:
            row = await tx.fetch_one("console_batch_import", batch_id=batch_id)
        if row is None:
            raise NotFound(f"no import request staged batch {batch_id}")
        return int(row["id"])

    async def batch_problems(self, claims: Mapping[str, Any], tenant_id: str,
                             batch_id: uuid.UUID | None) -> list[dict[str, Any]]:
        """The problems one batch's merge opened, re-opened or resolved (data_fix)."""
        if batch_id is None:
            return []
        async with self.db.user_transaction(claims, read_only=True) as tx:
            return await tx.fetch_all("console_batch_problems", tenant_id=tenant_id,
                                      batch_id=batch_id, limit=BATCH_PROBLEMS_SHOWN)

    async def suggestions(self, claims: Mapping[str, Any], tenant_id: str, anomaly_type: str,
                          value: str) -> list[dict[str, Any]]:
        """Directory entries the value most likely meant (fn_directory_suggestions)."""
        async with self.db.user_transaction(claims, read_only=True) as tx:
            return await tx.fetch_all("console_suggestions", tenant_id=tenant_id,
                                      anomaly_type=anomaly_type, value=value)

    async def causes(self, claims: Mapping[str, Any], chosen: WorklistFilter) -> CausePage:
        """The problem groups of what the filters match (the date range is the per-problem
        view's), with each tenant's zone and the import that first saw the cause."""
        async with self.db.user_transaction(claims, read_only=True) as tx:
            params, tenants = await self._params(tx, chosen)
            rows = await tx.fetch_all("console_problem_groups", **params,
                                      limit=CAUSES_SHOWN + 1)
        more = len(rows) > CAUSES_SHOWN
        rows = rows[:CAUSES_SHOWN]
        order = _cause_order(chosen.sort)
        if order is not None:
            rows.sort(key=order)
        return CausePage(chosen, rows, tenants, more)

    async def set_status(self, claims: Mapping[str, Any], ids: Sequence[int], status: str,
                         note: str | None) -> dict[str, Any]:
        """Acknowledge or resolve every selected problem that can take the step; the answer
        says per problem what was done or why it was skipped (fn_problems_set_status_each)."""
        if not ids:
            raise ConsoleError("select at least one problem")
        if len(ids) > MAX_SELECTED:
            raise ConsoleError(f"select at most {MAX_SELECTED} problems at a time")
        step, text = _step(status), _note(note)
        selected = list(dict.fromkeys(ids))
        return await retried_once(lambda: ProblemGroups(self.db).set_status_each(
            claims, selected, step, text))

    async def set_group_status(self, claims: Mapping[str, Any], key: GroupKey, status: str,
                               note: str | None) -> dict[str, Any]:
        """Acknowledge or resolve every problem of one cause that can take the step."""
        step, text = _step(status), _note(note)
        return await retried_once(lambda: ProblemGroups(self.db).set_status(
            claims, key, step, text))


def _step(status: str) -> str:
    if status not in ("acknowledged", "resolved"):
        raise ConsoleError("the action must be acknowledge or resolve")
    return status


def _note(note: str | None) -> str | None:
    text = (note or "").strip() or None
    if text and len(text) > MAX_NOTE:
        raise ConsoleError(f"the note must be at most {MAX_NOTE} characters")
    return text
