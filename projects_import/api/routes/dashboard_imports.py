"""The console's import history: /dashboard/imports (every request, freshness per tenant at the
top) and /dashboard/imports/{id} (staged metrics, reruns, violations summary). Reads run under
the signed-in user's claims, so the database refuses a viewer as well as this code."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from projects_import.api.deps import ImportHistoryDep, TenantStatusDep, UsersDep
from projects_import.api.routes.dashboard import (
    _denied,
    _page,
    _redirect,
    _refused,
    _signed_in,
    csrf_token,
)
from projects_import.cursor import InvalidCursor
from projects_import.dashboard.local_time import local_time
from projects_import.errors import Forbidden
from projects_import.imports.history import ImportFilter, ImportHistory, ImportNotFound
from projects_import.tenants import TENANT_ID
from projects_import.users import User
from projects_import.vocabulary import OPERATOR_ROLES

router = APIRouter(tags=["dashboard"], include_in_schema=False)

PAGE_SIZE = 50
STATUS_CHOICES = (200, 400, 401, 413, 422, 423, 429, 500)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_STATUS = re.compile(r"^[1-5][0-9]{2}$")


class BadFilter(ValueError):
    """A filter value the page cannot use; the message names it."""


def _selection(params: QueryParams,
               history: ImportHistory) -> tuple[ImportFilter, dict[str, str]]:
    """The filter from the query string, and the values to show back in the form."""
    shown = {name: params.get(name, "").strip() for name in ("tenant", "status", "since")}
    tenant = shown["tenant"] or None
    if tenant is not None and not TENANT_ID.match(tenant):
        raise BadFilter("tenant must be a tenant id")
    status = None
    if shown["status"]:
        if not _STATUS.match(shown["status"]):
            raise BadFilter("status must be an HTTP status code such as 200 or 422")
        status = int(shown["status"])
    since = None
    if shown["since"]:
        if not _DATE.match(shown["since"]):
            raise BadFilter("since must be a date, YYYY-MM-DD")
        try:
            since = datetime.strptime(shown["since"], "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as exc:
            raise BadFilter("since must be a real date, YYYY-MM-DD") from exc
    cursor = params.get("cursor")
    try:
        after = history.after(cursor) if cursor else None
    except InvalidCursor as exc:
        raise BadFilter("the page link is not valid; start again from the first page") from exc
    return ImportFilter(tenant=tenant, status=status, since=since, after=after,
                        limit=PAGE_SIZE), shown


async def signed_in_operator(request: Request, users: UsersDep) -> tuple[User, str] | Response:
    """The signed-in operator or admin and the session token; otherwise the answer to send:
    the sign-in page, or "Access denied" for another role."""
    user, token = await _signed_in(request, users)
    if user is None:
        return _redirect("/login")
    if user.role not in OPERATOR_ROLES:
        return _denied(user, token)
    return user, token


@router.get("/dashboard/imports")
async def imports_page(request: Request, users: UsersDep, history: ImportHistoryDep,
                       tenant_status: TenantStatusDep) -> Response:
    signed_in = await signed_in_operator(request, users)
    if isinstance(signed_in, Response):
        return signed_in
    user, token = signed_in
    try:
        selection, shown = _selection(request.query_params, history)
    except BadFilter as exc:
        return _refused(str(exc), 400)
    try:
        tenants = await tenant_status.status(user.claims)
        page = await history.page(user.claims, selection)
    except Forbidden:  # the database refused this role too
        return _denied(user, token)
    zones = {row["tenant_id"]: row["timezone"] for row in tenants}
    next_link = None
    if page.next_cursor:
        query = {k: v for k, v in shown.items() if v} | {"cursor": page.next_cursor}
        next_link = "/dashboard/imports?" + str(QueryParams(query))
    return _page("imports.html", title="Imports", section="imports", user=user,
                 csrf=csrf_token(token), tenants=tenants, rows=page.rows, zones=zones,
                 shown=shown, statuses=STATUS_CHOICES, next_link=next_link,
                 first_page=selection.after is None, local=local_time)


@router.get("/dashboard/imports/{import_id}")
async def import_detail_page(request: Request, users: UsersDep, history: ImportHistoryDep,
                             tenant_status: TenantStatusDep, import_id: str) -> Response:
    signed_in = await signed_in_operator(request, users)
    if isinstance(signed_in, Response):
        return signed_in
    user, token = signed_in
    if not re.fullmatch(r"[0-9]{1,18}", import_id) or int(import_id) < 1:
        return _refused("an import request's id is a positive whole number", 404)
    try:
        row = await history.get(user.claims, int(import_id))
        tenants = await tenant_status.status(user.claims)
    except Forbidden:
        return _denied(user, token)
    except ImportNotFound as exc:
        return _refused(exc.message, 404)
    zone = next((t["timezone"] for t in tenants if t["tenant_id"] == row["tenant_id"]), "UTC")
    return _page("import_detail.html", title=f"Import request {row['id']}", section="imports",
                 user=user, csrf=csrf_token(token), row=row, zone=zone, local=local_time,
                 metrics=_metric_rows(row), reruns=_reruns(row))


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
