"""The console's import history: /dashboard/imports (every request, freshness per tenant at the
top) and /dashboard/imports/{id} (staged metrics, reruns, what the batch changed, violations
summary). Reads run under
the signed-in user's claims, so the database refuses a viewer as well as this code."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from projects_import.api.deps import (
    ImportHistoryDep,
    ImportsDep,
    ReviewDep,
    SettingsDep,
    TenantStatusDep,
    WorklistDep,
)
from projects_import.api.pages import (
    PageSession,
    PageUser,
    checked_form,
    page,
    redirect,
    refused,
)
from projects_import.console.batch_changes import (
    batch_changes,
    change_query,
    merge_times,
    pages_asked,
)
from projects_import.console.errors import ConsoleError
from projects_import.console.local_time import local_time
from projects_import.console.schedule import daily_batch
from projects_import.cursor import InvalidCursor
from projects_import.errors import Conflict, Forbidden, NotFound
from projects_import.imports.history import (
    BATCH_STATES,
    ImportFilter,
    ImportHistory,
    ImportNotFound,
)
from projects_import.imports.review import NotHeld, actor_of
from projects_import.tenant_status import TenantStatus
from projects_import.tenants import TENANT_ID

router = APIRouter(tags=["console"], include_in_schema=False)

ADMIN = "admin"

PAGE_SIZE = 50
STATUS_CHOICES = (200, 400, 401, 413, 422, 423, 429, 500)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_STATUS = re.compile(r"^[1-5][0-9]{2}$")


def _selection(params: QueryParams,
               history: ImportHistory) -> tuple[ImportFilter, dict[str, str]]:
    """The filter from the query string, and the values to show back in the form;
    ConsoleError naming a value the page cannot use."""
    shown = {name: params.get(name, "").strip()
             for name in ("tenant", "status", "since", "batch_state")}
    tenant = shown["tenant"] or None
    batch_state = shown["batch_state"] or None
    if batch_state is not None and batch_state not in BATCH_STATES:
        raise ConsoleError(f"batch state must be one of {', '.join(BATCH_STATES)}")
    if tenant is not None and not TENANT_ID.match(tenant):
        raise ConsoleError("tenant must be a tenant id")
    status = None
    if shown["status"]:
        if not _STATUS.match(shown["status"]):
            raise ConsoleError("status must be an HTTP status code such as 200 or 422")
        status = int(shown["status"])
    since = None
    if shown["since"]:
        if not _DATE.match(shown["since"]):
            raise ConsoleError("since must be a date, YYYY-MM-DD")
        try:
            since = datetime.strptime(shown["since"], "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as exc:
            raise ConsoleError("since must be a real date, YYYY-MM-DD") from exc
    cursor = params.get("cursor")
    try:
        after = history.after(cursor) if cursor else None
    except InvalidCursor as exc:
        raise ConsoleError("the page link is not valid; start again from the first page") from exc
    return ImportFilter(tenant=tenant, status=status, since=since, after=after,
                        limit=PAGE_SIZE, batch_state=batch_state), shown


@router.get("/dashboard/imports")
async def imports_page(request: Request, session: PageUser, history: ImportHistoryDep,
                       tenant_status: TenantStatusDep) -> Response:
    user = session.user
    try:
        selection, shown = _selection(request.query_params, history)
    except ConsoleError as exc:
        return refused(exc.message, exc.http_status)
    try:
        tenants = await tenant_status.status(user.claims)
        found = await history.page(user.claims, selection)
        held = await _held(history, user.claims, selection.tenant)
        daily = await daily_words(tenant_status, user.claims, tenants)
    except Forbidden:  # the database refused this role too
        return session.denied()
    zones = {row["tenant_id"]: row["timezone"] for row in tenants}
    next_link = None
    if found.next_cursor:
        query = {k: v for k, v in shown.items() if v} | {"cursor": found.next_cursor}
        next_link = "/dashboard/imports?" + str(QueryParams(query))
    return page("imports.html", title="Imports", section="imports", user=user,
                 csrf=session.csrf, tenants=tenants, rows=found.rows, zones=zones,
                 shown=shown, statuses=STATUS_CHOICES, next_link=next_link,
                 first_page=selection.after is None, local=local_time, held=held,
                 batch_states=BATCH_STATES, is_admin=user.role == ADMIN, daily=daily)


async def daily_words(tenant_status: TenantStatus, claims: dict[str, Any],
                      tenants: list[dict[str, Any]]) -> dict[str, str]:
    """Per tenant, its daily batch on its clock: today's (arrived or expected when) and what
    is expected next (the tenants and imports pages)."""
    schedules = await tenant_status.schedules(claims)
    now = datetime.now(UTC)
    return {t["tenant_id"]: daily_batch(now, t["timezone"], s["schedule_time"],
                                        s["business_days"], t["last_success_at"]
                                        ).words(late=bool(t["late"]))
            for t in tenants if (s := schedules.get(t["tenant_id"]))}


async def _held(history: ImportHistory, claims: dict[str, Any],
                tenant: str | None) -> list[dict[str, Any]]:
    """The held batches (their first request each), with their audit findings."""
    page = await history.page(claims, ImportFilter(tenant=tenant, batch_state="held",
                                                   limit=PAGE_SIZE))
    held: dict[str, dict[str, Any]] = {}
    for row in page.rows:  # newest first: the last one seen is the request that staged it
        held[str(row["batch_id"])] = row
    rows = []
    for row in held.values():
        detail = await history.get(claims, int(row["id"]))
        audit = (detail["batch"] or {}).get("audit") or {}
        rows.append({**row, "findings": audit.get("findings") or []})
    return rows


@router.get("/dashboard/imports/{import_id}")
async def import_detail_page(request: Request, session: PageUser, history: ImportHistoryDep,
                             tenant_status: TenantStatusDep, review: ReviewDep,
                             worklist: WorklistDep, import_id: str) -> Response:
    user = session.user
    if not re.fullmatch(r"[0-9]{1,18}", import_id) or int(import_id) < 1:
        return refused("an import request's id is a positive whole number", 404)
    try:
        row = await history.get(user.claims, int(import_id))
        tenants = await tenant_status.status(user.claims)
    except Forbidden:
        return session.denied()
    except ImportNotFound as exc:
        return refused(exc.message, 404)
    zone = next((t["timezone"] for t in tenants if t["tenant_id"] == row["tenant_id"]), "UTC")
    diff = None
    if user.role == ADMIN and row["batch_state"] == "held":
        asked = request.query_params.get("page", "1")
        number = int(asked) if asked.isdigit() and 0 < int(asked) < 10**6 else 1
        diff = await review.diff(int(import_id), page=number)
    done = request.query_params.get("done", "")
    flash = f"Batch {done}." if done in ("published", "superseded", "rejected") else None
    rerun_flash = ("Batch re-run with today's directories: its figures are the first line of "
                   "Reruns below." if done == "rerun" else None)
    batch_problems = await worklist.batch_problems(user.claims, row["tenant_id"],
                                                   row.get("batch_id"))
    changes = await batch_changes(worklist.db, user.claims, row["tenant_id"],
                                  row.get("batch_id") if row.get("staging_id") else None,
                                  merge_times(row), pages_asked(request.query_params))
    return page("import_detail.html", title=f"Import request {row['id']}", section="imports",
                 user=user, csrf=session.csrf, row=row, zone=zone, local=local_time,
                 metrics=_metric_rows(row), reruns=_reruns(row), diff=diff, flash=flash,
                 decisions=_decisions(row), batch_problems=batch_problems,
                 rerun_flash=rerun_flash, can_rerun=_can_rerun(row), changes=changes,
                 change_pages=pages_asked(request.query_params), change_query=change_query)


def _can_rerun(row: dict[str, Any]) -> bool:
    """A re-run needs a staged batch that is not held or rejected (as the CLI's `rerun`)."""
    state = (row.get("batch") or {}).get("batch_state")
    return (row.get("batch_id") is not None and row.get("staging_id") is not None
            and state not in ("held", "rejected"))


@router.post("/dashboard/imports/{import_id}/rerun")
async def rerun_batch(request: Request, session: PageUser, history: ImportHistoryDep,
                      imports: ImportsDep, settings: SettingsDep, import_id: str) -> Response:
    """Re-merge the import's staged batch with today's directories (operators and admins),
    the same step as `projects-import rerun`; a held or rejected batch is refused (409)."""
    await checked_form(request, session, "the import's page")
    user = session.user
    if not re.fullmatch(r"[0-9]{1,18}", import_id) or int(import_id) < 1:
        return refused("an import request's id is a positive whole number", 404)
    try:
        row = await history.get(user.claims, int(import_id))  # as the user: RLS applies
    except Forbidden:
        return session.denied()
    except ImportNotFound as exc:
        return refused(exc.message, 404)
    if row.get("batch_id") is None or row.get("staging_id") is None:
        return refused(f"import request {import_id} staged no batch (status "
                        f"{row['status']}): there is nothing to re-run", 409)
    try:
        await imports.rerun(row["tenant_id"], uuid.UUID(str(row["batch_id"])),
                            max_rows=settings.max_rows)
    except NotFound as exc:
        return refused(exc.message, 404)
    except Conflict as exc:
        return refused(exc.message, 409)
    return redirect(f"/dashboard/imports/{import_id}?done=rerun#reruns-title")


def _decisions(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch's decisions with `decided_at` as a time (jsonb holds it as text)."""
    found = []
    for decision in (row.get("batch") or {}).get("decisions") or []:
        at = decision.get("decided_at")
        try:
            moment = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            moment = None
        found.append({**decision, "decided_at": moment})
    return found


async def _decide(request: Request, session: PageSession, review: ReviewDep, import_id: str,
                  publish: bool) -> Response:
    """Publish or reject a held batch from the console (admins; the form's CSRF token)."""
    form = await checked_form(request, session, "the import's page")
    user = session.user
    if user.role != ADMIN:
        return refused("publishing and rejecting a held batch is for the admin role")
    if not re.fullmatch(r"[0-9]{1,18}", import_id) or int(import_id) < 1:
        return refused("an import request's id is a positive whole number", 404)
    reason = form.get("reason", "").strip()
    if not publish and not reason:
        return refused("a rejection needs a reason: say what is wrong with the export", 400)
    if len(reason) > 500:
        return refused("the reason is longer than 500 characters", 400)
    try:
        if publish:
            result = await review.publish(int(import_id), actor_of(user.claims))
        else:
            result = await review.reject(int(import_id), reason, actor_of(user.claims))
    except NotHeld as exc:
        return refused(exc.message, 409)
    except NotFound as exc:
        return refused(exc.message, 404)
    done = QueryParams({"done": result["batch_state"]})
    return redirect(f"/dashboard/imports/{import_id}?{done}#batch")


@router.post("/dashboard/imports/{import_id}/publish")
async def publish_batch(request: Request, session: PageUser, review: ReviewDep,
                        import_id: str) -> Response:
    return await _decide(request, session, review, import_id, True)


@router.post("/dashboard/imports/{import_id}/reject")
async def reject_batch(request: Request, session: PageUser, review: ReviewDep,
                       import_id: str) -> Response:
    return await _decide(request, session, review, import_id, False)


def _reruns(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch's reruns with `at` as a time (jsonb holds it as text)."""
    runs = []
    for run in row.get("reruns") or []:
        at = run.get("at")
        try:
            moment = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            moment = None
        runs.append({**run, "at": moment})
    return runs


def _metric_rows(row: dict[str, Any]) -> list[tuple[str, Any]]:
    """The staged metrics as (name, value), documented ones first."""
    metrics: dict[str, Any] = row.get("staged_metrics") or {}
    order = ("rows", "inserted_projects", "updated_projects", "unchanged_projects",
             "org_memberships_upserted", "user_memberships_upserted", "memberships_ended",
             "anomalies_count", "anomalies_resolved", "staging_id")
    first = [(name, metrics[name]) for name in order if name in metrics]
    return first + sorted((k, v) for k, v in metrics.items() if k not in order)
